using System.ComponentModel;
using System.Text.Json;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens dimension &lt;process | spec.json | RUN_DIR&gt; [--param k=v] [--steps N] [--depth L] [--out FILE.json]</c>:
/// the fractal dimension of the belief geometry. Torch-free: it never loads TorchSharp (a run directory's predicted
/// beliefs are read from its probe/ arrays).
/// </summary>
public sealed class DimensionCommand : BeliefLensCommand<DimensionCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[TARGET]")]
        [Description("a built-in process, a .json spec, or a run directory (then the probe's predicted cloud is measured too)")]
        public string? Target { get; init; }

        [CommandOption("--steps <N>")]
        [Description("chaos-game steps averaged for h_μ and the Lyapunov spectrum")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        [DefaultValue(IfsOptions.DefaultSteps)]
        public long Steps { get; init; } = IfsOptions.DefaultSteps;

        [CommandOption("--burn-in <N>")]
        [Description("chaos-game steps discarded first")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0)]
        [DefaultValue(IfsOptions.DefaultBurnIn)]
        public int BurnIn { get; init; } = IfsOptions.DefaultBurnIn;

        [CommandOption("--seed <S>")]
        [Description("seed of the chaos game and of the correlation-dimension sample")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        [DefaultValue(0L)]
        public long Seed { get; init; }

        [CommandOption("--depth <L>")]
        [Description("depth of the MSP belief cloud whose box-counting dimension is measured")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 40)]
        [DefaultValue(BeliefDimensions.DefaultMspDepth)]
        public int Depth { get; init; } = BeliefDimensions.DefaultMspDepth;

        [CommandOption("--site <S>")]
        [Description("for a run directory: the probe site whose predicted cloud is measured (default: the last block's residual stream)")]
        public string? Site { get; init; }

        [CommandOption("--out <FILE.json>")]
        [Description("write the JSON here instead of printing it")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Target is null ? ValidationResult.Error("target: give a process, a .json spec or a run directory, e.g. 'belieflens dimension mess3'.")
                : ValidationResult.Success();
        }
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string target = settings.Target!;
        var ifsOptions = new IfsOptions(settings.Steps, settings.BurnIn, (ulong)settings.Seed);
        var run = Directory.Exists(target) ? new RunDirectory(target) : null;
        if (run is not null && !run.HoldsRun)
        {
            throw new BeliefLensInputException($"target: '{target}' is a directory but holds no run (no config.json); give a run directory, a process or a .json spec.");
        }

        DimensionReport report;
        if (run is null)
        {
            if (settings.Site is not null)
            {
                throw new BeliefLensInputException("--site: only a run directory has probe sites; give a run directory or drop --site.");
            }

            report = BeliefDimensions.ForProcess(ProcessResolver.Resolve(target, settings.Parameters), ifsOptions, settings.Depth).Report;
        }
        else
        {
            report = ForRun(run, settings, ifsOptions);
        }

        string json = JsonSerializer.Serialize(report, JsonOptions) + "\n";
        if (run is not null)
        {
            using var writer = run.Lock("dimension");
            writer.WriteText(run.DimensionPath, json);
        }

        if (settings.Out is string output)
        {
            CsvFiles.WriteAtomically(output, w => w.Write(json));
            Console.WriteLine($"wrote {output}");
        }
        else
        {
            Console.Write(json);
        }

        return 0;
    }

    private static DimensionReport ForRun(RunDirectory run, Settings settings, IfsOptions ifsOptions)
    {
        if (settings.Parameters.Count > 0)
        {
            throw new BeliefLensInputException("--param: a run directory's process comes from its config.json; drop --param.");
        }

        var config = run.ReadConfig();
        var process = ProcessResolver.Resolve(config.Process, config.ProcessParams);
        if (!run.Probe.IsComplete)
        {
            throw new BeliefLensInputException($"target: {run.Path} has no finished probe (probe/probe.json); run 'belieflens run' on it first, or give the process name to measure the exact beliefs only.");
        }

        var result = run.Probe.ReadResult();
        string site = settings.Site ?? $"blocks.{config.Model.NLayers - 1}.hook_resid_post";
        var metrics = result.Sites.FirstOrDefault(s => s.Site == site)
            ?? throw new BeliefLensInputException($"--site: {site} was not probed in {run.Path}; probed sites: {string.Join(", ", result.Sites.Select(s => s.Site))}.");
        string predictedPath = run.Probe.PredictedPath(site);
        if (!File.Exists(predictedPath))
        {
            throw new BeliefLensInputException($"--site: {run.Path} has no {Path.GetFileName(predictedPath)}; rerun 'belieflens run' on it to redo the probe.");
        }

        double rmse = metrics.RmseHeldout ?? metrics.RmseInsample
            ?? throw new BeliefLensInputException($"--site: the probe of {site} has no RMSE in probe.json; rerun the probe.");
        var report = BeliefDimensions.ForProcess(process, ifsOptions, settings.Depth).Report;
        var truth = NpyFile.Read(run.Probe.TrueBeliefsPath);
        var predicted = NpyFile.Read(predictedPath);
        var weights = NpyFile.Read(run.Probe.PrefixProbabilityPath).Data;
        int dims = truth.Shape[1];
        return BeliefDimensions.WithPredictions(report, site, new WeightedCloud(predicted.Data, weights, dims), new WeightedCloud(truth.Data, weights, dims), rmse, ifsOptions.Seed);
    }
}
