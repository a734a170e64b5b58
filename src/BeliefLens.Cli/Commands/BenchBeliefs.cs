using System.Diagnostics;
using System.Globalization;
using BeliefLens.Core;
using System.ComponentModel;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens bench beliefs [--process mess3] [--depth 11] [--runs 21]</c>: times exact belief enumeration and prints
/// one JSON line with the median over runs (after one warm-up). Speed goals live here, never in tests.
/// </summary>
public sealed class BenchBeliefs : BenchCommand<BenchBeliefs.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandOption("--process <NAME>")]
        [Description("a built-in process name or a .json spec")]
        [DefaultValue("mess3")]
        public string Process { get; init; } = "mess3";

        [CommandOption("--depth <L>")]
        [Description("longest prefix length")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0)]
        [DefaultValue(11)]
        public int Depth { get; init; } = 11;

        [CommandOption("--runs <N>")]
        [Description("timed runs after one warm-up; the median is reported")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 10_000)]
        [DefaultValue(21)]
        public int Runs { get; init; } = 21;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string name = settings.Process;
        var parameters = settings.Parameters;
        int depth = settings.Depth;
        int runs = settings.Runs;
        var process = ProcessResolver.Resolve(name, parameters);
        var tree = BeliefTree.Enumerate(process, depth);
        var times = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            var watch = Stopwatch.StartNew();
            tree = BeliefTree.Enumerate(process, depth);
            watch.Stop();
            times[r] = watch.Elapsed.TotalMilliseconds;
        }

        Array.Sort(times);
        double median = runs % 2 == 1 ? times[runs / 2] : (times[(runs / 2) - 1] + times[runs / 2]) / 2;
        static string F(double d) => d.ToString("F3", CultureInfo.InvariantCulture);
        Console.WriteLine(
            $"{{\"bench\":\"beliefs\",\"process\":\"{process.Name}\",\"depth\":{depth},\"prefixes\":{tree.Count},\"runs\":{runs},"
            + $"\"median_ms\":{F(median)},\"min_ms\":{F(times[0])},\"max_ms\":{F(times[^1])},\"threads\":1}}");
        return 0;
    }
}
