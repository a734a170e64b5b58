using System.ComponentModel;
using System.Globalization;
using System.Text;
using BeliefLens.Core;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens beliefs &lt;process&gt; --depth L --out FILE.csv</c>: every nonzero-probability prefix of length 0..L
/// with its probability and belief. Header <c>prefix,probability,belief_0,…</c>; prefix tokens separated by single
/// spaces (empty for the root); numbers in round-trip precision. Outside checks depend on this exact format.
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

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Process is null ? ValidationResult.Error("process: give a built-in name or a .json spec, e.g. 'belieflens beliefs mess3 --depth 5 --out beliefs.csv'.")
                : Depth is null ? ValidationResult.Error("--depth: is required for 'beliefs' (a prefix length, e.g. --depth 8).")
                : Out is null ? ValidationResult.Error("--out: is required for 'beliefs'.")
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
        var tree = BeliefTree.Enumerate(process, depth);
        CsvFiles.WriteAtomically(output, writer => Write(tree, writer));
        Console.WriteLine($"wrote {tree.Count} prefixes of {process.Name} (depth 0..{depth}) to {output}");
        return 0;
    }

    public static void Write(BeliefTree tree, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(writer);
        int s = tree.Process.StateCount;
        var line = new StringBuilder("prefix,probability");
        for (int j = 0; j < s; j++)
        {
            line.Append(",belief_").Append(j.ToString(CultureInfo.InvariantCulture));
        }

        writer.Write(line.Append('\n'));
        for (int k = 0; k < tree.Count; k++)
        {
            line.Clear();
            line.AppendJoin(' ', tree.Prefix(k));
            line.Append(',').Append(Math.Exp(tree.LogProbability[k]).ToString("R", CultureInfo.InvariantCulture));
            var belief = tree.Belief(k);
            for (int j = 0; j < s; j++)
            {
                line.Append(',').Append(belief[j].ToString("R", CultureInfo.InvariantCulture));
            }

            writer.Write(line.Append('\n'));
        }
    }
}

/// <summary>Writes text files through a temporary file and a rename, so a failed run never leaves half a file.</summary>
internal static class CsvFiles
{
    public static void WriteAtomically(string path, Action<TextWriter> write)
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
            using (var writer = new StreamWriter(temporary, append: false, new UTF8Encoding(false), 1 << 16))
            {
                write(writer);
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
