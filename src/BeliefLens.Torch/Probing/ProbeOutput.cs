using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Probing;

/// <summary>What probing a checkpoint on its own needs: its model, the untrained control's seed and, when recorded, its process.</summary>
/// <param name="ProcessSpec">The process it was trained on (from its sidecar or run config), or null when not recorded.</param>
public sealed record CheckpointInfo(TransformerConfig Config, ulong Seed, string? ProcessSpec = null, IReadOnlyDictionary<string, double>? ProcessParameters = null);

/// <summary>Probe results as run records (probe.json, probes.jsonl), and finding the model config of a checkpoint.</summary>
public static class ProbeOutput
{
    /// <summary>
    /// The model of a checkpoint file: <paramref name="configPath"/> when given (a TransformerLens train_config.json or a
    /// run's config.json), else the checkpoint's own sidecar (step_N.pt → step_N.json, written with every checkpoint of
    /// a run), else a train_config.json beside it (the paper's checkpoints).
    /// </summary>
    public static CheckpointInfo DescribeCheckpoint(string checkpoint, string? configPath)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        if (configPath is not null)
        {
            return ReadConfig(configPath);
        }

        if (RunDirectory.ReadSidecarOf(checkpoint) is { } sidecar)
        {
            return new CheckpointInfo(TransformerConfig.FromRecord(sidecar.Model), sidecar.Seed, sidecar.Process, sidecar.ProcessParams);
        }

        string trainConfig = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(checkpoint)) ?? ".", "train_config.json");
        return File.Exists(trainConfig)
            ? ReadConfig(trainConfig)
            : throw new BeliefLensInputException(
                $"config: '{checkpoint}' has no sidecar ({Path.GetFileName(RunDirectory.SidecarPathOf(checkpoint))}) and no train_config.json beside it; give its model config.");
    }

    /// <summary>Reads either a TransformerLens train_config.json or a run's config.json (model under "model").</summary>
    public static CheckpointInfo ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"config: '{path}' does not exist; give a train_config.json or a run's config.json.");
        }

        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new BeliefLensInputException($"config: {path} must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new BeliefLensInputException($"config: {path} is not valid JSON ({ex.Message.Split('\n')[0]}); fix the file.");
        }

        if (obj["model"] is JsonObject)
        {
            var run = RunDirectory.ReadConfigFile(path);
            return new CheckpointInfo(TransformerConfig.FromRecord(run.Model), run.Training.Seed, run.Process, run.ProcessParams);
        }

        var train = TransformerConfig.FromJson(obj.ToJsonString(), ignoreUnknown: true, source: path);
        ulong trainSeed = obj["seed"] is JsonValue sv && sv.TryGetValue(out long l) && l >= 0 ? (ulong)l : 0;
        return new CheckpointInfo(train, trainSeed);
    }

    /// <summary>One site's probe as a record; the outside contract's fields first.</summary>
    public static SiteMetrics SiteRecord(SiteProbe p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var site = new SiteMetrics(
            p.Site, p.Dims, p.Rows,
            Num(p.InSample.Mse), Num(p.HeldOut.Mse), Num(p.InSample.R2), Num(p.HeldOut.R2), Num(p.Shuffled.Mse),
            p.NextToken is null ? null : Num(p.NextToken.Mse), p.UntrainedMse is double u ? Num(u) : null,
            Num(p.InSample.Rmse), Num(p.HeldOut.Rmse), Num(p.InSample.MeanDistance), Num(p.HeldOut.MeanDistance),
            Num(p.InSample.TargetVariance), p.NextToken is null ? null : Num(p.NextToken.R2), p.EffectiveRank, p.MergedRows,
            Warning: p.Warning);
        if (p.Pca is { } pca)
        {
            site = site with
            {
                PcaComponents80 = pca.For80,
                PcaComponents90 = pca.For90,
                PcaComponents95 = pca.For95,
                PcaComponents99 = pca.For99,
                PcaExplainedRatio = pca.ExplainedRatio.Select(Num).ToArray(),
            };
        }

        if (p.Distances is { } d)
        {
            site = site with
            {
                DistancePoints = d.Points,
                DistanceR2PredictedVsBeliefs = Num(d.R2PredictedVsTrueBeliefs),
                DistanceR2PredictedVsNextToken = Num(d.R2PredictedVsNextToken),
                DistanceR2BeliefsVsNextToken = Num(d.R2TrueBeliefsVsNextToken),
            };
        }

        if (p.Regularisation is { } choice && p.HeldOutOptions is { } held)
        {
            // Held-out only; mse_insample keeps the fixed cutoff so the paper's in-sample figures are unchanged.
            site = site with
            {
                Regularisation = new ProbeRegularisation(
                    "validation on the fit sequences", ProbeEvaluator.ValidationFitFraction, Num(held.Ridge),
                    Num(choice.FitWeightTotal > 0 ? choice.Best.Ridge / choice.FitWeightTotal : 0), Num(held.Rcond), Num(choice.BestValidationMse),
                    Num(p.InSampleOptions?.Ridge ?? 0), Num(p.InSampleOptions?.Rcond ?? AffineFitOptions.DefaultRcond),
                    choice.Candidates.Select(c => new RegularisationCandidate(Num(c.Options.Ridge), Num(c.Options.Rcond), c.EffectiveRank, Num(c.ValidationMse))).ToArray()),
            };
        }

        return site;
    }

    /// <summary>A probe run as probe.json's record.</summary>
    /// <param name="distinctPrefixes">When the arrays beside it hold one row per distinct prefix, how many.</param>
    public static ProbeResult Result(ProbeReport report, int? distinctPrefixes = null, MixtureResult? mixture = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new ProbeResult(report.Process, WeightingName(report.Weighting), report.Sequences, report.Exhaustive, distinctPrefixes,
            report.Sites.Select(SiteRecord).ToArray(), mixture);
    }

    public static string WeightingName(ProbeWeighting weighting) => weighting == ProbeWeighting.Prob ? "prob" : "paper";

    /// <summary>
    /// Writes a probe of one checkpoint at the top of <paramref name="writer"/>'s directory: probe.json, the true
    /// beliefs, the prefix probabilities and the predicted beliefs of each site, one row per (sequence, position),
    /// repeated out from the per-prefix arrays.
    /// </summary>
    public static void Write(ProbeReport report, RunWriter writer)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(writer);
        var prefixes = report.Prefixes;
        writer.WriteProbeResult(writer.Directory.ProbeAtRoot, Result(report), report.Sites.ToDictionary(s => s.Site, s => prefixes.Expand(s.Predicted)),
            prefixes.Expand(report.TrueBeliefs), prefixes.Expand(report.PrefixProbabilities));
    }

    /// <summary>
    /// The model of a run directory's checkpoints: <paramref name="configPath"/> when given, else the run's
    /// config.json, else the sidecar of its first complete checkpoint.
    /// </summary>
    public static CheckpointInfo DescribeRun(RunDirectory run, string? configPath)
    {
        ArgumentNullException.ThrowIfNull(run);
        return configPath is not null ? ReadConfig(configPath)
            : run.HoldsRun ? ReadConfig(run.ConfigPath)
            : run.CompleteCheckpointSteps() is [long first, ..] ? DescribeCheckpoint(run.CheckpointPath(first), null)
            : throw new BeliefLensInputException($"checkpoint: no complete checkpoints under {run.CheckpointsPath}; train first or give a .pt file.");
    }

    /// <summary>
    /// Probes every complete checkpoint of <paramref name="source"/> (the step-0 one, or a fresh init with the run's
    /// seed, is the untrained control) and records one line per checkpoint in <paramref name="output"/>'s probes.jsonl.
    /// Returns how many checkpoints were probed.
    /// </summary>
    public static int ProbeRunDirectory(RunDirectory source, RunWriter output, Process process, ProbeOptions options, CheckpointInfo info,
        Device? device = null, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(info);
        var steps = source.CompleteCheckpointSteps();
        if (steps.Count == 0)
        {
            throw new BeliefLensInputException($"checkpoint: no complete checkpoints under {source.CheckpointsPath}; train first or give a .pt file.");
        }

        using var untrained = steps[0] == 0
            ? Checkpoints.LoadSequenceModel(source.CheckpointPath(0), info.Config, device)
            : SequenceModels.Create(info.Config, device, info.Seed);
        var inputs = ProbeInputs.Build(process, info.Config.NCtx, options.MaxSequences, options.Seed);
        foreach (long step in steps)
        {
            using var model = Checkpoints.LoadSequenceModel(source.CheckpointPath(step), info.Config, device);
            var report = ProbeRunner.Run(model, process, options, untrained, inputs);
            output.RecordProbe(new ProbeLine(step, source.ReadSidecar(step).Tokens, report.Sites.Select(SiteRecord).ToArray()));
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"step {step}: {string.Join("  ", report.Sites.Select(s => $"{s.Site} mse {s.InSample.Mse:G5}"))}"));
        }

        return steps.Count;
    }

    /// <summary>A JSON number, or null for NaN/∞ (JSON has no such values).</summary>
    public static double? Num(double x) => double.IsFinite(x) ? x : null;
}
