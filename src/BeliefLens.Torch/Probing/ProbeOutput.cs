using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Probing;

/// <summary>A loaded checkpoint with the config it was read with and a seed for the untrained control.</summary>
public sealed record LoadedCheckpoint(string Path, TransformerConfig Config, ulong Seed, long? Step, long? Tokens);

/// <summary>probe.json / probes.jsonl / .npy outputs, and locating configs for checkpoints.</summary>
public static class ProbeOutput
{
    /// <summary>
    /// The model config for a checkpoint file: <paramref name="configPath"/> when given (a TransformerLens
    /// train_config.json or our run's config.json), else train_config.json beside the file, else the run directory's
    /// config.json (checkpoints/step_N.pt → ../config.json). Also returns the init seed recorded there (0 if none).
    /// </summary>
    public static (TransformerConfig Config, ulong Seed) ResolveConfig(string checkpoint, string? configPath)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(checkpoint)) ?? ".";
        configPath ??= new[]
        {
            Path.Combine(dir, "train_config.json"),
            Path.Combine(dir, "config.json"),
            Path.Combine(Path.GetDirectoryName(dir) ?? dir, "config.json"),
        }.FirstOrDefault(File.Exists) ?? throw new BeliefLensInputException(
            $"--config: no train_config.json beside '{checkpoint}' and no run config.json above it; pass --config FILE.");
        return ReadConfig(configPath);
    }

    /// <summary>Reads either a TransformerLens train_config.json or our run's config.json (model under "model").</summary>
    public static (TransformerConfig Config, ulong Seed) ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"--config: '{path}' does not exist; give a train_config.json or a run's config.json.");
        }

        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new BeliefLensInputException($"--config {path}: must be a JSON object.");
        }
        catch (JsonException ex)
        {
            throw new BeliefLensInputException($"--config {path}: not valid JSON ({ex.Message.Split('\n')[0]}); fix the file.");
        }

        if (obj["model"] is JsonObject model)
        {
            var config = TransformerConfig.FromJson(model.ToJsonString(), source: $"{path} model");
            ulong seed = obj["training"]?["seed"] is JsonNode s && ulong.TryParse(s.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out ulong v) ? v : 0;
            return (config, seed);
        }

        var train = TransformerConfig.FromJson(obj.ToJsonString(), ignoreUnknown: true, source: path);
        ulong trainSeed = obj["seed"] is JsonValue sv && sv.TryGetValue(out long l) && l >= 0 ? (ulong)l : 0;
        return (train, trainSeed);
    }

    /// <summary>The process spec and parameters a run directory was trained on (config.json's process / process_params), if any.</summary>
    public static (string Spec, Dictionary<string, double> Parameters)? RunProcess(string runDir)
    {
        string path = Path.Combine(runDir, "config.json");
        if (!File.Exists(path) || JsonNode.Parse(File.ReadAllText(path)) is not JsonObject obj || obj["process"] is not JsonValue spec)
        {
            return null;
        }

        var parameters = (obj["process_params"] as JsonObject)?.ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<double>(), StringComparer.Ordinal) ?? [];
        return (spec.GetValue<string>(), parameters);
    }

    /// <summary>One JSON object per site; the outside contract's fields first.</summary>
    public static JsonObject SiteJson(SiteProbe p)
    {
        var o = new JsonObject
        {
            ["site"] = p.Site,
            ["dims"] = p.Dims,
            ["rows"] = p.Rows,
            ["mse_insample"] = Num(p.InSample.Mse),
            ["mse_heldout"] = Num(p.HeldOut.Mse),
            ["r2_insample"] = Num(p.InSample.R2),
            ["r2_heldout"] = Num(p.HeldOut.R2),
            ["shuffle_mse"] = Num(p.Shuffled.Mse),
            ["next_token_mse"] = p.NextToken is null ? null : Num(p.NextToken.Mse),
            ["untrained_mse"] = p.UntrainedMse is double u ? Num(u) : null,
            ["rmse_insample"] = Num(p.InSample.Rmse),
            ["rmse_heldout"] = Num(p.HeldOut.Rmse),
            ["mean_distance_insample"] = Num(p.InSample.MeanDistance),
            ["mean_distance_heldout"] = Num(p.HeldOut.MeanDistance),
            ["belief_variance"] = Num(p.InSample.TargetVariance),
            ["next_token_r2"] = p.NextToken is null ? null : Num(p.NextToken.R2),
            ["effective_rank"] = p.EffectiveRank,
            ["fit_rows_merged"] = p.MergedRows,
        };
        if (p.Pca is { } pca)
        {
            o["pca_components_80"] = pca.For80;
            o["pca_components_90"] = pca.For90;
            o["pca_components_95"] = pca.For95;
            o["pca_components_99"] = pca.For99;
            o["pca_explained_ratio"] = new JsonArray(pca.ExplainedRatio.Select(r => (JsonNode)Num(r)!).ToArray());
        }

        if (p.Distances is { } d)
        {
            o["distance_points"] = d.Points;
            o["distance_r2_predicted_vs_beliefs"] = Num(d.R2PredictedVsTrueBeliefs);
            o["distance_r2_predicted_vs_next_token"] = Num(d.R2PredictedVsNextToken);
            o["distance_r2_beliefs_vs_next_token"] = Num(d.R2TrueBeliefsVsNextToken);
        }

        if (p.Regularisation is { } choice && p.HeldOutOptions is { } held)
        {
            // Held-out only; mse_insample keeps the fixed cutoff so the paper's in-sample figures are unchanged.
            o["regularisation"] = new JsonObject
            {
                ["chosen_by"] = "validation on the fit sequences",
                ["validation_fit_fraction"] = ProbeEvaluator.ValidationFitFraction,
                ["ridge"] = Num(held.Ridge),
                ["ridge_per_unit_weight"] = Num(choice.FitWeightTotal > 0 ? choice.Best.Ridge / choice.FitWeightTotal : 0),
                ["rcond"] = Num(held.Rcond),
                ["validation_mse"] = Num(choice.BestValidationMse),
                ["insample_ridge"] = Num(p.InSampleOptions?.Ridge ?? 0),
                ["insample_rcond"] = Num(p.InSampleOptions?.Rcond ?? AffineFitOptions.DefaultRcond),
                ["candidates"] = new JsonArray(choice.Candidates.Select(c => (JsonNode)new JsonObject
                {
                    ["ridge"] = Num(c.Options.Ridge),
                    ["rcond"] = Num(c.Options.Rcond),
                    ["effective_rank"] = c.EffectiveRank,
                    ["validation_mse"] = Num(c.ValidationMse),
                }).ToArray()),
            };
        }

        if (p.Warning is not null)
        {
            o["warning"] = p.Warning;
        }

        return o;
    }

    /// <summary>
    /// Writes DIR/probe.json (array of site objects), and one row per (sequence, position) in DIR/beliefs_true.npy,
    /// DIR/prefix_probability.npy and DIR/beliefs_pred.{site}.npy.
    /// </summary>
    public static void Write(ProbeReport report, string dir)
    {
        Directory.CreateDirectory(dir);
        var array = new JsonArray(report.Sites.Select(s => (JsonNode)SiteJson(s)).ToArray());
        Checkpoints.WriteAtomically(Path.Combine(dir, "probe.json"),
            s => s.Write(System.Text.Encoding.UTF8.GetBytes(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n")));
        // One row per (sequence, position), repeated out from the per-prefix arrays.
        var prefixes = report.Prefixes;
        NpyFile.Write(Path.Combine(dir, "beliefs_true.npy"), prefixes.Expand(report.TrueBeliefs));
        NpyFile.WriteFloat64(Path.Combine(dir, "prefix_probability.npy"), prefixes.Expand(report.PrefixProbabilities), prefixes.Rows);
        foreach (var site in report.Sites)
        {
            NpyFile.Write(Path.Combine(dir, $"beliefs_pred.{site.Site}.npy"), prefixes.Expand(site.Predicted));
        }
    }

    /// <summary>
    /// Probes every complete checkpoint of a run directory (the step-0 one, or a fresh init with the run's seed, is the
    /// untrained control) and writes one JSON line per checkpoint to DIR/probes.jsonl; returns the lines.
    /// </summary>
    public static List<JsonObject> ProbeRunDirectory(string runDir, Process process, ProbeOptions options, string? configPath = null, Device? device = null,
        Action<string>? log = null)
    {
        var steps = Checkpoints.CompleteSteps(runDir);
        if (steps.Count == 0)
        {
            throw new BeliefLensInputException($"--checkpoint {runDir}: no complete checkpoints under {Checkpoints.Directory(runDir)}; train first or give a .pt file.");
        }

        var (config, seed) = configPath is null ? ReadConfig(Path.Combine(runDir, "config.json")) : ReadConfig(configPath);
        using var untrained = steps[0] == 0
            ? Checkpoints.LoadModel(Checkpoints.ModelPath(runDir, 0), config, device)
            : new HookedTransformer(config, device, seed);
        var inputs = ProbeInputs.Build(process, config.NCtx, options.MaxSequences, options.Seed);
        var lines = new List<JsonObject>();
        string outPath = Path.Combine(runDir, "probes.jsonl");
        using (var writer = new StreamWriter(outPath + ".tmp"))
        {
            foreach (long step in steps)
            {
                using var model = Checkpoints.LoadModel(Checkpoints.ModelPath(runDir, step), config, device);
                var report = ProbeRunner.Run(model, process, options, untrained, inputs);
                long? tokens = TokensOf(runDir, step);
                var line = new JsonObject
                {
                    ["step"] = step,
                    ["tokens"] = tokens,
                    ["sites"] = new JsonArray(report.Sites.Select(s => (JsonNode)SiteJson(s)).ToArray()),
                };
                writer.WriteLine(line.ToJsonString());
                writer.Flush();
                lines.Add(line);
                log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"step {step}: {string.Join("  ", report.Sites.Select(s => $"{s.Site} mse {s.InSample.Mse:G5}"))}"));
            }
        }

        File.Move(outPath + ".tmp", outPath, overwrite: true);
        return lines;
    }

    private static long? TokensOf(string runDir, long step)
    {
        string state = Path.Combine(Checkpoints.Directory(runDir), $"step_{step:D7}.json");
        try
        {
            return File.Exists(state) ? JsonNode.Parse(File.ReadAllText(state))?["tokens"]?.GetValue<long>() : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    /// <summary>JSON number, or null for NaN/∞ (JSON has no such values).</summary>
    private static JsonNode? Num(double x) => double.IsFinite(x) ? JsonValue.Create(x) : null;
}
