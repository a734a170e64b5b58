using BeliefLens.Core;
using BeliefLens.Reporting;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary><c>plot-beliefs &lt;process&gt; [--param k=v]... --depth L --out file.png</c>: the belief point cloud (PNG + SVG beside it).</summary>
public sealed class PlotBeliefsCommand : BeliefLensCommand<PlotBeliefsCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[PROCESS]")]
        [Description("a built-in process name or a .json spec (required)")]
        public string? Process { get; init; }

        [CommandOption("--depth <L>")]
        [Description("longest prefix length (required)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0, 64)]
        public int? Depth { get; init; }

        [CommandOption("--out <FILE.png>")]
        [Description("the PNG to write; an .svg is written beside it (required)")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Process is null ? ValidationResult.Error("process: missing; give a built-in name, e.g. 'plot-beliefs mess3 --depth 10 --out mess3.png'.")
                : Depth is null ? ValidationResult.Error("--depth: is required for 'plot-beliefs' (e.g. --depth 10).")
                : Out is null ? ValidationResult.Error("--out: is required for 'plot-beliefs'.")
                : !Out.EndsWith(".png", StringComparison.OrdinalIgnoreCase) ? ValidationResult.Error($"--out: '{Out}' must end in .png (an .svg is written beside it).")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int depth = settings.Depth!.Value;
        string output = settings.Out!;
        var process = ProcessResolver.Resolve(settings.Process!, settings.Parameters);
        var tree = BeliefTree.Enumerate(process, depth);
        var weights = tree.LogProbability.Select(Math.Exp).ToArray();
        string label = process.Name; // already carries the parameter values
        string directory = Path.GetDirectoryName(Path.GetFullPath(output))!;
        string name = Path.GetFileNameWithoutExtension(output);
        var figure = Figures.BeliefGeometry(new BeliefPoints(tree.Beliefs, process.StateCount, weights), $"{label}, depth {depth}", directory, name);
        Console.WriteLine($"wrote {figure.PngPath} and {figure.SvgPath} ({tree.Count:N0} prefixes)");
        if (process.Composite is { } composite)
        {
            // The second level: the meta-belief (mixture) and each component's or factor's own belief geometry.
            var rows = Enumerable.Range(0, tree.Count);
            if (composite.Kind == CompositeKind.Mixture && composite.PartCount > 1)
            {
                var meta = rows.SelectMany(r => composite.MetaBelief(tree.Belief(r), process.Tau)).ToArray();
                var metaFigure = Figures.BeliefGeometry(new BeliefPoints(meta, composite.PartCount, weights), $"{label}: meta-belief, depth {depth}", directory, name + ".meta");
                Console.WriteLine($"wrote {metaFigure.PngPath} (meta-belief)");
            }

            for (int k = 0; k < composite.PartCount; k++)
            {
                var part = composite.Parts[k];
                var beliefs = rows.SelectMany(r => composite.PartBelief(tree.Belief(r), process.Tau, k)).ToArray();
                var partFigure = Figures.BeliefGeometry(
                    new BeliefPoints(beliefs, part.StateCount, weights), $"{label}: {composite.PartLabel} {k} ({part.Name})", directory, $"{name}.{composite.PartLabel}{k}");
                Console.WriteLine($"wrote {partFigure.PngPath} ({composite.PartLabel} {k})");
            }
        }
        return 0;
    }
}
