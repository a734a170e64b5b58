using System.Diagnostics;
using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens bench beliefs [--process mess3] [--depth 11] [--runs 21]</c>: times exact belief enumeration and prints
/// one JSON line with the median over runs (after one warm-up). Speed goals live here, never in tests.
/// </summary>
internal static class BenchBeliefs
{
    public static int Run(CommandArguments args)
    {
        string name = args.Option("process") ?? "mess3";
        var parameters = args.Parameters();
        int depth = args.Int("depth", min: 0) ?? 11;
        int runs = args.Int("runs", min: 1, max: 10_000) ?? 21;
        args.RejectUnknown(1);
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
