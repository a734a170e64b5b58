using System.Text;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Reporting;
using BeliefLens.Runs;
using BeliefLens.Torch.Probing;
using RunSite = BeliefLens.Runs.SiteMetrics;

namespace BeliefLens.Cli.Run;

/// <summary>
/// `report`: reads a finished run directory into <see cref="RunReportInput"/>, lets Reporting render it, and writes
/// report.html. Never retrains or re-probes. All reading of run files for the report is in <see cref="Read"/>.
/// </summary>
public static class RunReport
{
    /// <summary>Renders the finished run in <paramref name="dir"/>, holding its lock while it writes figures and report.html.</summary>
    public static string Render(string dir, IRunObserver? observer = null)
    {
        var run = new RunDirectory(dir);
        RequireFinishedRun(run); // before the lock, which would create a file in a directory that is not a run
        using var writer = run.Lock();
        return Render(writer, observer);
    }

    /// <summary>
    /// Renders the finished run of a writer that already holds the lock (the run pipeline's last stage).
    /// <paramref name="afterFigures"/> runs once the figures exist and before report.html, which marks the run done.
    /// </summary>
    public static string Render(RunWriter writer, IRunObserver? observer = null, Action? afterFigures = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var run = writer.Directory;
        var input = Read(run);
        string figures = writer.CreateFolder(run.FiguresPath);
        if (File.Exists(run.CompositePath))
        {
            var composite = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(run.CompositePath))!.AsObject();
            input = input with { ExtraSections = CompositeReport.Sections(composite, figures) };
        }

        var rendered = RunReportPage.Render(input, figures);
        afterFigures?.Invoke();
        writer.WriteText(run.ReportPath, rendered.Html);
        var names = rendered.Figures.Select(f => f.Name).ToList();
        if (rendered.Animation is { } animation)
        {
            names.Add(Path.GetFileName(animation.GifPath));
        }

        observer?.Info($"wrote {string.Join(", ", names)} to {figures}");
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

    /// <summary>Everything the report shows, from the files the train and probe stages left in <paramref name="run"/>.</summary>
    public static RunReportInput Read(RunDirectory run)
    {
        ArgumentNullException.ThrowIfNull(run);
        RequireFinishedRun(run);
        var config = run.ReadConfig();
        string configText = Encoding.UTF8.GetString(RunJson.Serialize(config, indented: true));
        var experiment = Experiment.FromRunConfig(config);
        var process = experiment.ResolveProcess();
        var summary = run.ReadSummary();
        var final = run.Probe.ReadResult();
        var sites = final.Sites.Select(Site).ToList();
        string mainSite = RunPipeline.EmergenceSite(experiment.Model);
        if (sites.All(s => s.Site != mainSite))
        {
            mainSite = sites[0].Site;
        }

        var truthArray = NpyFile.Read(run.Probe.TrueBeliefsPath);
        int states = truthArray.Shape[1];
        var truth = new BeliefPoints(truthArray.Data, states, NpyFile.Read(run.Probe.PrefixProbabilityPath).Data);
        var predicted = sites.Where(s => File.Exists(run.Probe.PredictedPath(s.Site)))
            .ToDictionary(s => s.Site, s => NpyFile.Read(run.Probe.PredictedPath(s.Site)).Data, StringComparer.Ordinal);
        if (!predicted.TryGetValue(mainSite, out var mainPredicted))
        {
            throw new BeliefLensInputException($"report: {run.Path} has no {Path.GetFileName(run.Probe.PredictedPath(mainSite))}; run 'belieflens run' on it again to redo the probe.");
        }

        var nextToken = NpyFile.Read(run.Probe.NextTokenPath);
        var facts = new ExperimentFacts(experiment.Name, experiment.ProcessSpec, experiment.ProcessParameters, experiment.Model.NLayers, experiment.Model.DModel,
            experiment.Model.NCtx, experiment.Probe.FitFraction, experiment.Probe.EmergencePanels, configText, experiment.Model.Architecture);
        var training = new TrainingOutcome(summary.ValidationLoss, summary.LossFloor, summary.Tokens, summary.WallSeconds);
        return new RunReportInput(facts, process, training, ReadLoss(run, summary), sites, mainSite, truth, predicted, ReadCheckpoints(run, mainSite),
            Distances(experiment, new DenseMatrix(mainPredicted, truthArray.Shape[0], states), new DenseMatrix(truthArray.Data, truthArray.Shape[0], states),
                new DenseMatrix(nextToken.Data, nextToken.Shape[0], nextToken.Shape[1])),
            Mixture(final.Mixture), Path.GetFullPath(run.Path), ReadDimension(run), MspGraph: DrawableMsp(process));
    }

    /// <summary>The report draws the MSP when it is finite with at most this many states (Z1R 7, RRXOR 36, Even 4, golden mean 3).</summary>
    public const int ReportMspMaxStates = 64;

    /// <summary>The whole MSP of <paramref name="process"/> as a graph when it is finite and small; null otherwise.</summary>
    internal static MspGraph? DrawableMsp(Process process)
    {
        try
        {
            // A finite MSP of n states closes within n tokens; a larger or infinite one hits the state cap first.
            var msp = MixedStatePresentation.Build(process, ReportMspMaxStates, maxStates: ReportMspMaxStates);
            return msp.IsComplete ? MspGraph.From(msp) : null;
        }
        catch (BeliefLensInputException)
        {
            return null; // more than ReportMspMaxStates states: not drawn
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

    /// <summary>dimension.json when <c>belieflens dimension RUN_DIR</c> has written it, else null.</summary>
    private static DimensionReport? ReadDimension(RunDirectory run)
    {
        if (!File.Exists(run.DimensionPath))
        {
            return null;
        }

        try
        {
            return System.Text.Json.JsonSerializer.Deserialize<DimensionReport>(File.ReadAllText(run.DimensionPath), Commands.CommandJson.Options);
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new BeliefLensInputException($"{run.DimensionPath}: {ex.Message.Split('\n')[0]}; rerun 'belieflens dimension {run.Path}'.");
        }
    }

    private static Reporting.SiteMetrics Site(RunSite s) => new(
        s.Site,
        s.Site == ProbeRunner.ConcatSite,
        s.Dims,
        s.MseInsample ?? double.NaN,
        s.MseHeldout ?? double.NaN,
        s.R2Heldout ?? double.NaN,
        s.ShuffleMse ?? double.NaN,
        s.UntrainedMse ?? double.NaN,
        s.NextTokenMse ?? double.NaN,
        s.PcaExplainedRatio is { } ratios ? PcaResult.FromVariances(ratios.Select(r => r ?? 0).ToArray()) : null);

    /// <summary>The main site's predicted geometry at every probed checkpoint whose emergence file exists.</summary>
    private static List<CheckpointGeometry> ReadCheckpoints(RunDirectory run, string mainSite)
    {
        var checkpoints = new List<CheckpointGeometry>();
        foreach (var line in run.ReadProbeLines())
        {
            string path = run.Probe.EmergenceStepPath(line.Step);
            var site = line.Sites.FirstOrDefault(s => s.Site == mainSite);
            if (File.Exists(path) && site is not null)
            {
                checkpoints.Add(new CheckpointGeometry(line.Tokens, site.MseHeldout ?? double.NaN, NpyFile.Read(path).Data));
            }
        }

        return checkpoints;
    }

    private static LossData ReadLoss(RunDirectory run, RunSummary summary)
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

        return new LossData(tokens.ToArray(), values.ToArray(), summary.LossFloor,
            summary.ValidationLossPerPosition.ToArray(), summary.LossFloorPerPosition.ToArray());
    }

    private static MixtureMetrics? Mixture(MixtureResult? mixture)
    {
        if (mixture is null)
        {
            return null;
        }

        static Reporting.MixtureScore Score(Runs.MixtureScore o) => new(o.MseHeldout ?? double.NaN, o.R2Heldout ?? double.NaN, o.ShuffleMse ?? double.NaN);
        return new MixtureMetrics(mixture.Components, Score(mixture.ComponentIdentity), Score(mixture.WithinComponentBelief));
    }
}
