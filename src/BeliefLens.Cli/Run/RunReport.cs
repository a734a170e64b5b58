using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Reporting;
using BeliefLens.Runs;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Cli.Run;

/// <summary>Renders every figure and report.html from the files of a run directory; never retrains or re-probes.</summary>
public static class RunReport
{
    /// <summary>Published figures for the paper's Mess3 model (final checkpoint, 629,209,600 tokens).</summary>
    private const double PaperMess3FinalMse = 0.00038635;
    private const double PaperMess3ShuffleMse = 0.111;

    /// <summary>Belief-geometry panels stop growing at about this many prefixes.</summary>
    private const long GeometryPointBudget = 300_000;

    /// <summary>Renders the finished run in <paramref name="dir"/>, holding its lock while it writes figures and report.html.</summary>
    public static string Render(string dir, IRunObserver? observer = null)
    {
        var run = new RunDirectory(dir);
        RequireFinishedRun(run); // before the lock, which would create a file in a directory that is not a run
        using var writer = run.Lock();
        return Render(writer, observer);
    }

    /// <summary>Renders the finished run of a writer that already holds the lock (the run pipeline's last stage).</summary>
    public static string Render(RunWriter writer, IRunObserver? observer = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var run = writer.Directory;
        RequireFinishedRun(run);
        var config = run.ReadConfig();
        string configText = Encoding.UTF8.GetString(RunJson.Serialize(config, indented: true));
        var experiment = Experiment.FromRunConfig(config);
        var process = experiment.ResolveProcess();
        var summary = RunJson.ToNode(run.ReadSummary());
        var final = RunJson.ToNode(run.Probe.ReadResult());
        var sites = final["sites"]!.AsArray().Select(s => s!.AsObject()).ToList();
        string figures = writer.CreateFolder(run.FiguresPath);
        string mainSite = RunPipeline.EmergenceSite(experiment.Model);
        var main = sites.FirstOrDefault(s => Str(s, "site") == mainSite) ?? sites[0];
        mainSite = Str(main, "site");

        var truthArray = NpyFile.Read(run.Probe.TrueBeliefsPath);
        int states = truthArray.Shape[1];
        var probabilities = NpyFile.Read(run.Probe.PrefixProbabilityPath).Data;
        var truth = new BeliefPoints(truthArray.Data, states, probabilities);
        var predicted = NpyFile.Read(run.Probe.PredictedPath(mainSite)).Data;
        var nextToken = NpyFile.Read(run.Probe.NextTokenPath);

        // 1. The process's own belief geometry, exact, to the deepest level within budget.
        int depth = GeometryDepth(process, experiment.Model.NCtx);
        var tree = BeliefTree.Enumerate(process, depth);
        var treeWeights = tree.LogProbability.Select(Math.Exp).ToArray();
        var geometry = Figures.BeliefGeometry(new BeliefPoints(tree.Beliefs, process.StateCount, treeWeights), $"{process.Name}, all prefixes to length {depth}", figures);

        // 2. Headline: ground truth beside the probe's prediction.
        var headline = Figures.GroundTruthVsPredicted(truth, predicted, mainSite, figures,
            heldOutMse: Num(main, "mse_heldout"), heldOutR2: Num(main, "r2_heldout"));

        // 3. Emergence over training.
        var lines = run.ReadProbeLines();
        var checkpoints = new List<CheckpointGeometry>();
        foreach (var line in lines)
        {
            string path = run.Probe.EmergenceStepPath(line.Step);
            var site = line.Sites.FirstOrDefault(s => s.Site == mainSite);
            if (!File.Exists(path) || site is null)
            {
                continue;
            }

            checkpoints.Add(new CheckpointGeometry(line.Tokens, site.MseHeldout ?? double.NaN, NpyFile.Read(path).Data));
        }

        FigureFile? emergence = null;
        AnimationFile? animation = null;
        if (checkpoints.Count >= 2)
        {
            emergence = Figures.Emergence(truth, SelectByError(checkpoints, experiment.Probe.EmergencePanels), figures);
            animation = Figures.EmergenceAnimation(truth, checkpoints, figures);
        }

        // 4. Loss against the floor.
        var loss = Figures.Loss(ReadLoss(run, summary), figures);

        // 5. Probe error per site with controls.
        var errors = Figures.ProbeErrors(
            sites.Select(s => new ProbeSiteErrors(Str(s, "site"), Num(s, "mse_insample") ?? double.NaN, Num(s, "mse_heldout") ?? double.NaN,
                Num(s, "shuffle_mse") ?? double.NaN, Num(s, "untrained_mse") ?? double.NaN)).ToList(),
            figures);

        // 6. Distances among predicted beliefs against true beliefs and next-token distributions: the probe's own
        // analysis (same saved rows, same sample seed, so the same pairs and R² as probe.json), with its pairs kept to draw.
        var distanceAnalysis = Distances(experiment, new DenseMatrix(predicted, truthArray.Shape[0], states), new DenseMatrix(truthArray.Data, truthArray.Shape[0], states),
            new DenseMatrix(nextToken.Data, nextToken.Shape[0], nextToken.Shape[1]));
        var distances = Figures.Distances(distanceAnalysis, figures);

        // 7. PCA spectrum of the residual stream, as the probe saved it.
        FigureFile? pca = main["pca_explained_ratio"] is JsonArray ratios
            ? Figures.PcaSpectrum(PcaResult.FromVariances(ratios.Select(r => r?.GetValue<double>() ?? 0).ToArray()), mainSite, figures)
            : null;

        var sections = new List<ReportSection>
        {
            new("The process", [ReportFigure.From(geometry)],
                Text: $"The exact belief states (mixed states) of {process.Name}: every prefix up to length {depth}, computed in float64."),
            new("Belief geometry in the residual stream", [ReportFigure.From(headline)],
                Text: $"An affine probe from {mainSite} to the belief after each prefix, fit on {Percent(experiment.Probe.FitFraction)} of the sequences and shown for every distinct prefix."),
        };
        if (emergence is not null && animation is not null)
        {
            sections.Add(new ReportSection("How the geometry emerges", [ReportFigure.From(emergence), ReportFigure.From(animation)]));
        }

        sections.Add(new ReportSection("Loss against the floor", [ReportFigure.From(loss)]));
        var probeFigures = new List<ReportFigure> { ReportFigure.From(errors), ReportFigure.From(distances) };
        if (pca is not null)
        {
            probeFigures.Add(ReportFigure.From(pca));
        }

        sections.Add(new ReportSection("Probes across layers, with controls", probeFigures, Table: SiteTable(sites)));

        var model = new ReportModel(
            $"BeliefLens: {experiment.Name} — {process.Name}",
            Paragraph(experiment, process, summary, sites, main, distanceAnalysis, final["mixture"] as JsonObject),
            configText,
            sections,
            MetricRows(experiment, summary, sites, main, final["mixture"] as JsonObject),
            $"Made by belieflens from {Path.GetFullPath(run.Path)}. Re-render with: belieflens report {run.Path}");
        HtmlReport.Write(model, run.ReportPath);
        observer?.Info($"wrote {run.ReportPath}");
        return run.ReportPath;
    }

    private static void RequireFinishedRun(RunDirectory run)
    {
        foreach (string required in new[] { run.ConfigPath, run.SummaryPath, run.Probe.ResultPath, run.Probe.TrueBeliefsPath })
        {
            if (!File.Exists(required))
            {
                throw new BeliefLensInputException($"report: {run.Path} is not a finished run ({Path.GetFileName(required)} is missing); run 'belieflens run' on it first.");
            }
        }
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

    /// <summary>
    /// The first and last checkpoints plus those nearest to evenly spaced steps in log probe error between them,
    /// so the panels follow the geometry forming rather than stretches where nothing changes.
    /// </summary>
    public static IReadOnlyList<CheckpointGeometry> SelectByError(IReadOnlyList<CheckpointGeometry> checkpoints, int count)
    {
        var ordered = checkpoints.OrderBy(c => c.TokensSeen).ToList();
        if (ordered.Count <= count || count < 2)
        {
            return ordered.Take(Math.Max(count, 1)).ToList();
        }

        static double LogError(CheckpointGeometry c) => Math.Log(Math.Max(c.ProbeMse, 1e-12));
        double first = LogError(ordered[0]);
        double last = LogError(ordered[^1]);
        var chosen = new SortedSet<int> { 0, ordered.Count - 1 };
        for (int k = 1; k < count - 1; k++)
        {
            double target = first + ((last - first) * k / (count - 1));
            int best = Enumerable.Range(1, ordered.Count - 2).Where(i => !chosen.Contains(i)).MinBy(i => Math.Abs(LogError(ordered[i]) - target));
            chosen.Add(best);
        }

        return chosen.Select(i => ordered[i]).ToList();
    }

    private static int GeometryDepth(Process process, int maxDepth)
    {
        long count = 1;
        long level = 1;
        int depth = 0;
        while (depth < maxDepth && count + (level * process.VocabSize) <= GeometryPointBudget)
        {
            level *= process.VocabSize;
            count += level;
            depth++;
        }

        return Math.Max(depth, Math.Min(maxDepth, 6));
    }

    private static LossData ReadLoss(RunDirectory run, JsonObject summary)
    {
        var tokens = new List<long>();
        var values = new List<double>();
        foreach (var line in run.ReadMetrics())
        {
            if (line.ValLossMean is double v && line.Tokens > 0)
            {
                tokens.Add(line.Tokens);
                values.Add(v);
            }
        }

        double[] perPosition = Array(summary["validation_loss_per_position"]);
        double[] floors = Array(summary["loss_floor_per_position"]);
        return new LossData(tokens.ToArray(), values.ToArray(), summary["loss_floor"]!.GetValue<double>(), perPosition, floors);
    }

    private static string Paragraph(Experiment experiment, Process process, JsonObject summary, List<JsonObject> sites, JsonObject main, DistanceAnalysis distances,
        JsonObject? mixture)
    {
        var inv = CultureInfo.InvariantCulture;
        double loss = summary["validation_loss"]!.GetValue<double>();
        double floor = summary["loss_floor"]!.GetValue<double>();
        long tokens = summary["tokens"]!.GetValue<long>();
        double wall = summary["wall_seconds"]!.GetValue<double>();
        var text = new StringBuilder();
        text.Append(inv, $"A {experiment.Model.NLayers}-layer transformer (d_model {experiment.Model.DModel}) was trained on {tokens:N0} tokens from {process.Name} in {wall:F0} s. ");
        text.Append(inv, $"Its validation loss is {loss:F4} nats against the optimum of {floor:F4} nats ({(loss / floor - 1) * 100:F2}% above the floor). ");
        text.Append(inv, $"A linear probe on {Str(main, "site")} recovers the exact Bayesian belief states with held-out R² {Num(main, "r2_heldout"):F4} and MSE {Num(main, "mse_heldout"):G3}, ");
        text.Append(inv, $"against {Num(main, "shuffle_mse"):G3} for shuffled targets and {Num(main, "untrained_mse"):G3} for the same probe on the untrained network. ");
        var concat = sites.FirstOrDefault(s => Str(s, "site") == ProbeRunner.ConcatSite);
        if (concat is not null)
        {
            var single = sites.Where(s => Str(s, "site") != ProbeRunner.ConcatSite).OrderBy(s => Num(s, "mse_heldout") ?? double.MaxValue).First();
            double ratio = (Num(single, "mse_heldout") ?? double.NaN) / (Num(concat, "mse_heldout") ?? double.NaN);
            text.Append(inv, $"Concatenating all residual-stream sites gives held-out MSE {Num(concat, "mse_heldout"):G3}, {ratio:F1}× lower than the best single site ({Str(single, "site")}). ");
        }

        // The numbers the distance figure prints, from the same analysis.
        text.Append(inv, $"Distances between predicted beliefs track distances between true beliefs with R² {distances.R2PredictedVsTrueBeliefs:F3}, and distances between next-token distributions with R² {distances.R2PredictedVsNextToken:F3}.");

        if (mixture?["component_identity"] is JsonObject identity && mixture["within_component_belief"] is JsonObject within)
        {
            text.Append(inv, $" The process is a mixture of {mixture["components"]} components: the same site encodes which component generated the sequence (held-out R² {Num(identity, "r2_heldout"):F4}) ");
            text.Append(inv, $"and the belief within each component (held-out R² {Num(within, "r2_heldout"):F4}).");
        }

        return text.ToString();
    }

    private static List<MetricRow> MetricRows(Experiment experiment, JsonObject summary, List<JsonObject> sites, JsonObject main, JsonObject? mixture)
    {
        var inv = CultureInfo.InvariantCulture;
        bool paperMess3 = experiment.ProcessSpec == "mess3"
            && experiment.ProcessParameters.GetValueOrDefault("x", 0.05) == 0.05
            && experiment.ProcessParameters.GetValueOrDefault("alpha", 0.85) == 0.85;
        string site = Str(main, "site");
        var rows = new List<MetricRow>
        {
            new("Validation loss (mean over positions, nats)", F(summary["validation_loss"]!.GetValue<double>(), "F5"),
                null, string.Create(inv, $"floor {summary["loss_floor"]!.GetValue<double>():F5}")),
            new("Tokens seen", summary["tokens"]!.GetValue<long>().ToString("N0", inv), paperMess3 ? "629,209,600" : null,
                paperMess3 ? "the paper's final checkpoint" : null),
            new($"Probe MSE in-sample ({site})", F(Num(main, "mse_insample"), "G4"),
                paperMess3 ? PaperMess3FinalMse.ToString("G5", inv) : null, paperMess3 ? "paper: final checkpoint, unweighted, in-sample" : null),
            new($"Probe MSE held-out ({site})", F(Num(main, "mse_heldout"), "G4"), null,
                $"fit on {Percent(experiment.Probe.FitFraction)} of sequences, scored on the rest; R² {F(Num(main, "r2_heldout"), "F4")}"),
            new("Shuffled-target MSE", F(Num(main, "shuffle_mse"), "G4"), paperMess3 ? "≈" + PaperMess3ShuffleMse.ToString("G3", inv) : null,
                "control: equals the belief variance"),
            new("Untrained-model MSE", F(Num(main, "untrained_mse"), "G4"), null, "control: same probe on the step-0 network"),
        };
        if (sites.FirstOrDefault(s => Str(s, "site") == ProbeRunner.ConcatSite) is JsonObject concat)
        {
            rows.Add(new MetricRow("Probe MSE, all sites concatenated", F(Num(concat, "mse_insample"), "G4"), null,
                $"in-sample; held-out {F(Num(concat, "mse_heldout"), "G4")}"));
        }

        if (Num(main, "pca_components_95") is double c95)
        {
            rows.Add(new MetricRow("PCA components for 80/90/95/99% of variance",
                string.Create(inv, $"{Num(main, "pca_components_80")}/{Num(main, "pca_components_90")}/{c95}/{Num(main, "pca_components_99")}"),
                null, $"of {Num(main, "dims")} dimensions at {site}"));
        }

        foreach (var (key, label) in new[] { ("component_identity", "component identity"), ("within_component_belief", "within-component belief") })
        {
            if (mixture?[key] is JsonObject m)
            {
                rows.Add(new MetricRow($"Mixture: {label} probe MSE held-out", F(Num(m, "mse_heldout"), "G4"), null,
                    $"R² {F(Num(m, "r2_heldout"), "F4")}; shuffled {F(Num(m, "shuffle_mse"), "G4")}"));
            }
        }

        return rows;
    }

    private static ReportTable SiteTable(List<JsonObject> sites) => new(
        "Probe error at every residual-stream site (MSE averaged over points and belief dimensions)",
        ["site", "dims", "in-sample MSE", "held-out MSE", "held-out R²", "shuffled", "untrained", "next-token MSE"],
        sites.Select(s => (IReadOnlyList<string>)
        [
            Str(s, "site"), F(Num(s, "dims"), "F0"), F(Num(s, "mse_insample"), "G4"), F(Num(s, "mse_heldout"), "G4"), F(Num(s, "r2_heldout"), "F4"),
            F(Num(s, "shuffle_mse"), "G4"), F(Num(s, "untrained_mse"), "G4"), F(Num(s, "next_token_mse"), "G4"),
        ]).ToList());

    private static string Percent(double fraction) => (fraction * 100).ToString("F0", CultureInfo.InvariantCulture) + "%";

    private static string F(double? value, string format) => value is double v ? v.ToString(format, CultureInfo.InvariantCulture) : "n/a";

    private static string Str(JsonObject o, string key) => o[key]?.GetValue<string>() ?? string.Empty;

    private static double? Num(JsonObject o, string key) => o[key] is JsonValue v && v.TryGetValue(out double d) ? d : null;

    private static double[] Array(JsonNode? node) => node is JsonArray a ? a.Select(n => n?.GetValue<double>() ?? double.NaN).ToArray() : [];
}
