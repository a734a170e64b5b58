using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Reporting;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Cli.Run;

/// <summary>
/// `report`: reads a finished run directory into <see cref="RunReportInput"/>, lets Reporting render it, and writes
/// report.html. Never retrains or re-probes. All reading of run files for the report is in <see cref="Read"/>.
/// </summary>
public static class RunReport
{
    public static string Render(string dir, IRunObserver? observer = null)
    {
        var input = Read(dir);
        var rendered = RunReportPage.Render(input, RunFiles.Figures(dir));
        RunFiles.WriteText(RunFiles.Report(dir), rendered.Html);
        var names = rendered.Figures.Select(f => f.Name).ToList();
        if (rendered.Animation is { } animation)
        {
            names.Add(Path.GetFileName(animation.GifPath));
        }

        observer?.Info($"wrote {string.Join(", ", names)} to {RunFiles.Figures(dir)}");
        observer?.Info($"wrote {RunFiles.Report(dir)}");
        return RunFiles.Report(dir);
    }

    /// <summary>Everything the report shows, from the files the train and probe stages left in <paramref name="dir"/>.</summary>
    public static RunReportInput Read(string dir)
    {
        foreach (string required in new[] { RunFiles.Config(dir), RunFiles.Summary(dir), RunFiles.FinalProbe(dir), RunFiles.TrueBeliefs(dir) })
        {
            if (!File.Exists(required))
            {
                throw new BeliefLensInputException($"report: {dir} is not a finished run ({Path.GetFileName(required)} is missing); run 'belieflens run' on it first.");
            }
        }

        string configText = File.ReadAllText(RunFiles.Config(dir));
        var experiment = Experiment.FromJson(JsonFields.ParseObject(configText, RunFiles.Config(dir)));
        var process = experiment.ResolveProcess();
        var summary = JsonNode.Parse(File.ReadAllText(RunFiles.Summary(dir)))!.AsObject();
        var final = JsonNode.Parse(File.ReadAllText(RunFiles.FinalProbe(dir)))!.AsObject();
        var sites = final["sites"]!.AsArray().Select(s => Site(s!.AsObject())).ToList();
        string mainSite = RunPipeline.EmergenceSite(experiment.Model);
        if (sites.All(s => s.Site != mainSite))
        {
            mainSite = sites[0].Site;
        }

        var truthArray = NpyFile.Read(RunFiles.TrueBeliefs(dir));
        int states = truthArray.Shape[1];
        var truth = new BeliefPoints(truthArray.Data, states, NpyFile.Read(RunFiles.PrefixProbability(dir)).Data);
        var predicted = sites.Where(s => File.Exists(RunFiles.Predicted(dir, s.Site)))
            .ToDictionary(s => s.Site, s => NpyFile.Read(RunFiles.Predicted(dir, s.Site)).Data, StringComparer.Ordinal);
        if (!predicted.TryGetValue(mainSite, out var mainPredicted))
        {
            throw new BeliefLensInputException($"report: {dir} has no {Path.GetFileName(RunFiles.Predicted(dir, mainSite))}; run 'belieflens run' on it again to redo the probe.");
        }

        var nextToken = NpyFile.Read(RunFiles.NextToken(dir));
        var facts = new ExperimentFacts(experiment.Name, experiment.ProcessSpec, experiment.ProcessParameters, experiment.Model.NLayers, experiment.Model.DModel,
            experiment.Model.NCtx, experiment.Probe.FitFraction, experiment.Probe.EmergencePanels, configText);
        var training = new TrainingOutcome(summary["validation_loss"]!.GetValue<double>(), summary["loss_floor"]!.GetValue<double>(),
            summary["tokens"]!.GetValue<long>(), summary["wall_seconds"]!.GetValue<double>());
        return new RunReportInput(facts, process, training, ReadLoss(dir, summary), sites, mainSite, truth, predicted, ReadCheckpoints(dir, mainSite),
            Distances(experiment, new DenseMatrix(mainPredicted, truthArray.Shape[0], states), new DenseMatrix(truthArray.Data, truthArray.Shape[0], states),
                new DenseMatrix(nextToken.Data, nextToken.Shape[0], nextToken.Shape[1])),
            Mixture(final["mixture"] as JsonObject), Path.GetFullPath(dir));
    }

    /// <summary>
    /// The final probe's distance analysis of one site, with its pairs kept for the figure: the saved distinct-prefix
    /// rows and the probe's own point count and seed, so the same pairs and R² as that site's probe.json entry.
    /// </summary>
    internal static DistanceAnalysis Distances(Experiment experiment, DenseMatrix predicted, DenseMatrix beliefs, DenseMatrix nextToken)
    {
        var options = RunPipeline.Options(experiment, final: true);
        return DistanceAnalysis.Compute(predicted, beliefs, nextToken, options.DistancePoints, options.DistanceSeed, keepPairs: true);
    }

    private static SiteMetrics Site(JsonObject s) => new(
        Str(s, "site"),
        Str(s, "site") == ProbeRunner.ConcatSite,
        s["dims"] is JsonValue d && d.TryGetValue(out int dims) ? dims : 0,
        Num(s, "mse_insample"),
        Num(s, "mse_heldout"),
        Num(s, "r2_heldout"),
        Num(s, "shuffle_mse"),
        Num(s, "untrained_mse"),
        Num(s, "next_token_mse"),
        s["pca_explained_ratio"] is JsonArray ratios ? PcaResult.FromVariances(ratios.Select(r => r?.GetValue<double>() ?? 0).ToArray()) : null);

    /// <summary>The main site's predicted geometry at every probed checkpoint whose emergence file exists.</summary>
    private static List<CheckpointGeometry> ReadCheckpoints(string dir, string mainSite)
    {
        var checkpoints = new List<CheckpointGeometry>();
        foreach (var line in RunPipeline.ReadProbeLines(dir))
        {
            long step = line["step"]!.GetValue<long>();
            string path = RunFiles.Emergence(dir, step);
            var site = line["sites"]!.AsArray().Select(s => s!.AsObject()).FirstOrDefault(s => Str(s, "site") == mainSite);
            if (File.Exists(path) && site is not null)
            {
                checkpoints.Add(new CheckpointGeometry(line["tokens"]!.GetValue<long>(), Num(site, "mse_heldout"), NpyFile.Read(path).Data));
            }
        }

        return checkpoints;
    }

    private static LossData ReadLoss(string dir, JsonObject summary)
    {
        var tokens = new List<long>();
        var values = new List<double>();
        if (File.Exists(RunFiles.Metrics(dir)))
        {
            foreach (string text in File.ReadLines(RunFiles.Metrics(dir)))
            {
                JsonNode? node;
                try
                {
                    node = JsonNode.Parse(text);
                }
                catch (System.Text.Json.JsonException)
                {
                    continue; // a line cut short by a kill
                }

                if (node?["val_loss_mean"] is JsonNode v && node["tokens"] is JsonNode t && t.GetValue<long>() > 0)
                {
                    tokens.Add(t.GetValue<long>());
                    values.Add(v.GetValue<double>());
                }
            }
        }

        return new LossData(tokens.ToArray(), values.ToArray(), summary["loss_floor"]!.GetValue<double>(),
            Array(summary["validation_loss_per_position"]), Array(summary["loss_floor_per_position"]));
    }

    private static MixtureMetrics? Mixture(JsonObject? mixture)
    {
        if (mixture?["component_identity"] is not JsonObject identity || mixture["within_component_belief"] is not JsonObject within)
        {
            return null;
        }

        static MixtureScore Score(JsonObject o) => new(Num(o, "mse_heldout"), Num(o, "r2_heldout"), Num(o, "shuffle_mse"));
        return new MixtureMetrics(mixture["components"]!.GetValue<int>(), Score(identity), Score(within));
    }

    private static string Str(JsonObject o, string key) => o[key]?.GetValue<string>() ?? string.Empty;

    /// <summary>A metric, or NaN where probe.json has none (it writes null for NaN).</summary>
    private static double Num(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out double d) ? d : double.NaN;

    private static double[] Array(JsonNode? node) => node is JsonArray a ? a.Select(n => n?.GetValue<double>() ?? double.NaN).ToArray() : [];
}
