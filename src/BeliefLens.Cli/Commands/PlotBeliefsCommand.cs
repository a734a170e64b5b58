using BeliefLens.Core;
using BeliefLens.Reporting;

namespace BeliefLens.Cli.Commands;

/// <summary><c>plot-beliefs &lt;process&gt; [--param k=v]... --depth L --out file.png</c>: the belief point cloud (PNG + SVG beside it).</summary>
public sealed class PlotBeliefsCommand : ICommand
{
    public string Name => "plot-beliefs";

    public string Summary => "draw the belief geometry of a process: plot-beliefs <process> [--param k=v]... --depth L --out FILE.png";

    public int Run(CommandArguments args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Positionals.Count == 0)
        {
            throw new BeliefLensInputException("process: missing; give a built-in name, e.g. 'plot-beliefs mess3 --depth 10 --out mess3.png'.");
        }

        string processName = args.Positionals[0];
        var parameters = args.Parameters();
        int depth = args.Int("depth", min: 0, max: 64) ?? throw new BeliefLensInputException("--depth: is required for 'plot-beliefs' (e.g. --depth 10).");
        string output = args.Required("out");
        args.RejectUnknown(maxPositionals: 1);
        if (!output.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
        {
            throw new BeliefLensInputException($"--out: '{output}' must end in .png (an .svg is written beside it).");
        }

        var process = ProcessResolver.Resolve(processName, parameters);
        var tree = BeliefTree.Enumerate(process, depth);
        var weights = tree.LogProbability.Select(Math.Exp).ToArray();
        string label = process.Name; // already carries the parameter values
        string directory = Path.GetDirectoryName(Path.GetFullPath(output))!;
        string name = Path.GetFileNameWithoutExtension(output);
        var figure = Figures.BeliefGeometry(new BeliefPoints(tree.Beliefs, process.StateCount, weights), $"{label}, depth {depth}", directory, name);
        Console.WriteLine($"wrote {figure.PngPath} and {figure.SvgPath} ({tree.Count:N0} prefixes)");
        return 0;
    }
}
