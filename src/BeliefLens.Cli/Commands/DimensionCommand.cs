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

        [CommandOption("--process <NAME>")]
        [Description("for a 'probe --checkpoint … --out DIR' folder: the process the probed model was trained on (a run directory records its own)")]
        public string? Process { get; init; }

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

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string target = settings.Target!;
        var ifsOptions = new IfsOptions(settings.Steps, settings.BurnIn, (ulong)settings.Seed);
        var run = Directory.Exists(target) ? new RunDirectory(target) : null;
        if (run is not null && !run.HoldsRun)
        {
            if (!run.ProbeAtRoot.IsComplete)
            {
                throw new BeliefLensInputException($"target: '{target}' is a directory but holds no run (no config.json) and no probe (probe.json); give a run directory, a probe folder, a process or a .json spec.");
            }

            var folderReport = ForProbeFolder(run.ProbeAtRoot, settings, ifsOptions);
            Emit(JsonSerializer.Serialize(folderReport, CommandJson.Options) + "\n", settings.Out);
            return 0;
        }

        if (settings.Process is not null)
        {
            throw new BeliefLensInputException("--process: only for a probe folder; give the process as the target instead.");
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

        string json = JsonSerializer.Serialize(report, CommandJson.Options) + "\n";
        if (run is not null)
        {
            using var writer = run.Lock("dimension");
            writer.WriteText(run.DimensionPath, json);
        }

        Emit(json, settings.Out);
        return 0;
    }

    private static void Emit(string json, string? output)
    {
        if (output is not null)
        {
            CsvFiles.WriteAtomically(output, w => w.Write(json));
            Console.WriteLine($"wrote {output}");
        }
        else
        {
            Console.Write(json);
        }
    }

    /// <summary>
    /// A probe of one checkpoint ('probe --checkpoint F.pt P --out DIR'): its arrays hold one row per (sequence,
    /// position), so a prefix shared by many sequences repeats. Rows identical in both the true and the predicted belief
    /// are one prefix (a causal model predicts a prefix the same way wherever it occurs) and are kept once, with that
    /// prefix's probability.
    /// </summary>
    private static DimensionReport ForProbeFolder(RunDirectory.ProbeFolder folder, Settings settings, IfsOptions ifsOptions)
    {
        if (settings.Process is null)
        {
            throw new BeliefLensInputException("--process: a probe folder does not record a resolvable process; name it, e.g. --process mess3.");
        }

        var process = ProcessResolver.Resolve(settings.Process, settings.Parameters);
        var result = folder.ReadResult();
        var metrics = settings.Site is string wanted
            ? result.Sites.FirstOrDefault(s => s.Site == wanted) ?? throw new BeliefLensInputException($"--site: {wanted} was not probed in {folder.ResultPath}; probed sites: {string.Join(", ", result.Sites.Select(s => s.Site))}.")
            : result.Sites[0];
        double rmse = metrics.RmseHeldout ?? metrics.RmseInsample
            ?? throw new BeliefLensInputException($"--site: the probe of {metrics.Site} has no RMSE in probe.json; rerun the probe.");
        var truth = NpyFile.Read(folder.TrueBeliefsPath);
        var predicted = NpyFile.Read(folder.PredictedPath(metrics.Site));
        var probability = NpyFile.Read(folder.PrefixProbabilityPath).Data;
        int dims = truth.Shape[1];
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var keptTruth = new List<double>();
        var keptPredicted = new List<double>();
        var weights = new List<double>();
        for (int r = 0; r < probability.Length; r++)
        {
            var t = truth.Data.AsSpan(r * dims, dims);
            var p = predicted.Data.AsSpan(r * dims, dims);
            string key = Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(t)) + Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(p));
            if (seen.Add(key))
            {
                keptTruth.AddRange(t.ToArray());
                keptPredicted.AddRange(p.ToArray());
                weights.Add(probability[r]);
            }
        }

        var report = BeliefDimensions.ForProcess(process, ifsOptions, settings.Depth).Report;
        var w = weights.ToArray();
        return BeliefDimensions.WithPredictions(report, metrics.Site, new WeightedCloud([.. keptPredicted], w, dims), new WeightedCloud([.. keptTruth], w, dims), rmse, ifsOptions.Seed);
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
