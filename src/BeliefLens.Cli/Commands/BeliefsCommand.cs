using System.ComponentModel;
using System.Globalization;
using System.Text;
using BeliefLens.Core;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens beliefs &lt;process&gt; --depth L --out FILE.csv</c>: every nonzero-probability prefix of length 0..L
/// with its probability and belief, in the format of <see cref="BeliefsCsv"/>. Refuses up front when the CSV would
/// exceed <c>--max-output-gb</c> (default 2 GB).
/// </summary>
public sealed class BeliefsCommand : BeliefLensCommand<BeliefsCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[PROCESS]")]
        [Description("a built-in process name or a .json spec (required)")]
        public string? Process { get; init; }

        [CommandOption("--depth <L>")]
        [Description("longest prefix length (required)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0)]
        public int? Depth { get; init; }

        [CommandOption("--out <FILE.csv>")]
        [Description("the CSV file to write (required)")]
        public string? Out { get; init; }

        [CommandOption("--bos")]
        [Description("prepend a beginning-of-sequence start state to the process")]
        public bool Bos { get; init; }

        [CommandOption("--max-output-gb <GB>")]
        [Description("refuse up front when the CSV would be larger than this")]
        [TypeConverter(typeof(DoubleValueConverter))]
        [DefaultValue(BeliefsCsv.DefaultLimitGigabytes)]
        public double MaxOutputGigabytes { get; init; } = BeliefsCsv.DefaultLimitGigabytes;

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Process is null ? ValidationResult.Error("process: give a built-in name or a .json spec, e.g. 'belieflens beliefs mess3 --depth 5 --out beliefs.csv'.")
                : Depth is null ? ValidationResult.Error("--depth: is required for 'beliefs' (a prefix length, e.g. --depth 8).")
                : Out is null ? ValidationResult.Error("--out: is required for 'beliefs'.")
                : !(MaxOutputGigabytes > 0) || !double.IsFinite(MaxOutputGigabytes)
                    ? ValidationResult.Error($"--max-output-gb: {MaxOutputGigabytes.ToString(CultureInfo.InvariantCulture)} must be a positive number of GB (default {BeliefsCsv.DefaultLimitGigabytes.ToString(CultureInfo.InvariantCulture)}).")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var process = ProcessResolver.Resolve(settings.Process!, settings.Parameters);
        if (settings.Bos)
        {
            process = ProcessBuilders.WithBos(process);
        }

        int depth = settings.Depth!.Value;
        string output = settings.Out!;
        double maxGigabytes = settings.MaxOutputGigabytes;

        // Refuse before enumerating when even one prefix per depth is too much, and before writing when the bound is.
        double limit = maxGigabytes * 1e9;
        RefuseLargeOutput(BeliefsCsv.MinBytes(process.StateCount, depth), "at least", depth, maxGigabytes, limit);
        var tree = BeliefTree.Enumerate(process, depth);
        RefuseLargeOutput(BeliefsCsv.MaxBytes(process.StateCount, process.VocabSize, tree.DepthStart), "up to", depth, maxGigabytes, limit);
        CsvFiles.WriteAtomically(output, stream => BeliefsCsv.Write(tree, stream));
        Console.WriteLine($"wrote {tree.Count} prefixes of {process.Name} (depth 0..{depth}) to {output}");
        if (process.Composite is { } composite)
        {
            // Both levels: the joint belief above, the meta-belief and each component's or factor's belief beside it.
            string parts = Path.ChangeExtension(output, null) + ".parts.csv";
            CsvFiles.WriteAtomically(parts, writer => BeliefsCsv.WriteParts(tree, writer));
            Console.WriteLine($"wrote {(composite.Kind == CompositeKind.Mixture ? "the meta-belief and each component's" : "each factor's")} belief to {parts}");
        }
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
