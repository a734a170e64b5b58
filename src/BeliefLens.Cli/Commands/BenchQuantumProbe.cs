using System.ComponentModel;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens bench quantum-probe [--features 256] [--threads N] [--runs 5]</c>: the quantum paper's probe fit (53
/// cutoffs × 10 folds + refit) on the Mess3 anchor set (9,840 × 256 features; goal &lt; 1.5 s on 2 cores). Torch-free.
/// </summary>
public sealed class BenchQuantumProbe : BenchCommand<BenchQuantumProbe.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--features <N>")]
        [Description("feature columns (the concatenated site of the paper's 4 × 64 networks: 256)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 4096)]
        [DefaultValue(256)]
        public int Features { get; init; } = 256;

        [CommandOption("--threads <N>")]
        [Description("folds fitted in parallel (default: all cores)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--runs <N>")]
        [Description("timed fits after one warm-up; best and median are reported")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1000)]
        [DefaultValue(5)]
        public int Runs { get; init; } = 5;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var (best, median, fit) = ProbeBenchmarks.QuantumProbe(settings.Features, repeats: settings.Runs, maxDegreeOfParallelism: settings.Threads ?? 0);
        cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var json = new JsonObject
        {
            ["bench"] = "quantum-probe",
            ["rows"] = 9_840,
            ["features"] = settings.Features,
            ["cutoffs"] = fit.Cutoffs.Count,
            ["folds"] = 10,
            ["threads"] = settings.Threads ?? Environment.ProcessorCount,
            ["best_s"] = Math.Round(best.TotalSeconds, 4),
            ["median_s"] = Math.Round(median.TotalSeconds, 4),
            ["cpu_s_per_fit"] = Math.Round(cpu.TotalSeconds / (settings.Runs + 1), 4), // includes the warm-up fit and data generation
            ["load_average_1m"] = LoadAverage(),
            ["chosen_cutoff"] = fit.Cutoff,
            ["rmse"] = fit.Rmse,
            ["rmse_heldout"] = fit.HeldOutRmse,
        };
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    // The machine may be shared: the 1-minute load average (Linux) puts the wall time in context.
    private static double? LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
