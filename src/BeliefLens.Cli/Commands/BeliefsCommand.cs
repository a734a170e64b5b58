using System.Globalization;
using System.Text;
using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens beliefs &lt;process&gt; --depth L --out FILE.csv</c>: every nonzero-probability prefix of length 0..L
/// with its probability and belief, in the format of <see cref="BeliefsCsv"/>. Refuses up front when the CSV would
/// exceed <c>--max-output-gb</c> (default 2 GB).
/// </summary>
public sealed class BeliefsCommand : ICommand
{
    public string Name => "beliefs";

    public string Summary => "write the exact probability and belief of every prefix up to --depth as CSV";

    public int Run(CommandArguments args)
    {
        if (args.Positionals.Count == 0)
        {
            throw new BeliefLensInputException("process: give a built-in name or a .json spec, e.g. 'belieflens beliefs mess3 --depth 5 --out beliefs.csv'.");
        }

        var parameters = args.Parameters();
        int depth = args.Int("depth", min: 0) ?? throw new BeliefLensInputException("--depth: is required for 'beliefs' (a prefix length, e.g. --depth 8).");
        string output = args.Required("out");
        bool bos = args.Flag("bos");
        double maxGigabytes = args.Double("max-output-gb") ?? BeliefsCsv.DefaultLimitGigabytes;
        if (!(maxGigabytes > 0) || !double.IsFinite(maxGigabytes))
        {
            throw new BeliefLensInputException($"--max-output-gb: {maxGigabytes} must be a positive number of GB (default {BeliefsCsv.DefaultLimitGigabytes}).");
        }

        args.RejectUnknown(1);
        var process = ProcessResolver.Resolve(args.Positionals[0], parameters);
        if (bos)
        {
            process = ProcessBuilders.WithBos(process);
        }

        // Refuse before enumerating when even one prefix per depth is too much, and before writing when the bound is.
        double limit = maxGigabytes * 1e9;
        RefuseLargeOutput(BeliefsCsv.MinBytes(process.StateCount, depth), "at least", depth, maxGigabytes, limit);
        var tree = BeliefTree.Enumerate(process, depth);
        RefuseLargeOutput(BeliefsCsv.MaxBytes(process.StateCount, process.VocabSize, tree.DepthStart), "up to", depth, maxGigabytes, limit);
        CsvFiles.WriteAtomically(output, stream => BeliefsCsv.Write(tree, stream));
        Console.WriteLine($"wrote {tree.Count} prefixes of {process.Name} (depth 0..{depth}) to {output}");
        return 0;
    }

    private static void RefuseLargeOutput(double bytes, string qualifier, int depth, double maxGigabytes, double limit)
    {
        if (bytes > limit)
        {
            throw new BeliefLensInputException(
                $"--depth: {depth} would write {qualifier} {bytes / 1e9:G3} GB of CSV, over the {maxGigabytes:G3} GB limit; use a smaller --depth or raise the limit with --max-output-gb.");
        }
    }
}

/// <summary>Writes text files through a temporary file and a rename, so a failed run never leaves half a file.</summary>
internal static class CsvFiles
{
    public static void WriteAtomically(string path, Action<TextWriter> write) =>
        WriteAtomically(path, (Stream stream) =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16);
            write(writer);
        });

    public static void WriteAtomically(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string? directory = Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        string temporary = full + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary))
            {
                File.Delete(temporary);
            }
        }
    }
}
