using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using BeliefLens.Core;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens bench dimension [--process mess3] [--steps 1000000] [--runs 5]</c>: times the chaos game of the belief
/// IFS (belief update, next-token entropy and the Jacobian QR step every token) and prints one JSON line with the median
/// over runs after one warm-up. Goal: 10^6 steps in under 0.5 s.
/// </summary>
public sealed class BenchDimension : BenchCommand<BenchDimension.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandOption("--process <NAME>")]
        [Description("a built-in process name or a .json spec")]
        [DefaultValue("mess3")]
        public string Process { get; init; } = "mess3";

        [CommandOption("--steps <N>")]
        [Description("chaos-game steps per run")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        [DefaultValue(1_000_000L)]
        public long Steps { get; init; } = 1_000_000;

        [CommandOption("--runs <N>")]
        [Description("timed runs after one warm-up; the median is reported")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1000)]
        [DefaultValue(5)]
        public int Runs { get; init; } = 5;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var process = ProcessResolver.Resolve(settings.Process, settings.Parameters);
        var options = new IfsOptions(settings.Steps, burnIn: 0);
        var result = BeliefIfs.Run(process, new IfsOptions(Math.Min(settings.Steps, 100_000), burnIn: 0)); // warm-up
        var times = new double[settings.Runs];
        var cpu = new double[settings.Runs];
        var self = System.Diagnostics.Process.GetCurrentProcess();
        for (int r = 0; r < settings.Runs; r++)
        {
            self.Refresh();
            var cpuStart = self.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            result = BeliefIfs.Run(process, options);
            watch.Stop();
            self.Refresh();
            times[r] = watch.Elapsed.TotalSeconds;
            cpu[r] = (self.TotalProcessorTime - cpuStart).TotalSeconds; // on a shared machine wall time includes waiting for a core
        }

        Array.Sort(times);
        Array.Sort(cpu);
        int runs = settings.Runs;
        double median = Median(times);
        static string F(double d) => d.ToString("R", CultureInfo.InvariantCulture);
        Console.WriteLine(
            $"{{\"bench\":\"dimension\",\"process\":\"{process.Name}\",\"steps\":{settings.Steps},\"runs\":{runs},"
            + $"\"median_s\":{F(Math.Round(median, 4))},\"min_s\":{F(Math.Round(times[0], 4))},\"max_s\":{F(Math.Round(times[^1], 4))},"
            + $"\"median_cpu_s\":{F(Math.Round(Median(cpu), 4))},\"steps_per_s\":{F(Math.Round(settings.Steps / median))},\"h_mu\":{F(result.EntropyRate)},\"d_ly\":{F(result.LyapunovDimension)},\"threads\":1}}");
        return 0;
    }

    private static double Median(double[] sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}
