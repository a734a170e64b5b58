using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Reporting;

/// <summary>What was run: the experiment's settings the report describes, and its resolved config.json text.</summary>
/// <param name="Name">The experiment's name (a preset's or the experiment file's).</param>
/// <param name="ProcessSpec">The process as the experiment names it, e.g. <c>mess3</c>.</param>
/// <param name="ProcessParameters">The process parameters the experiment set (defaults are not listed).</param>
/// <param name="FitFraction">Fraction of the sequences the probes were fit on; the rest are held out.</param>
/// <param name="EmergencePanels">How many checkpoints the emergence figure shows.</param>
/// <param name="ConfigJson">The run's resolved config.json, shown at the end of the report.</param>
/// <param name="Architecture">transformer, rnn, lstm or gru (model.architecture).</param>
public sealed record ExperimentFacts(
    string Name,
    string ProcessSpec,
    IReadOnlyDictionary<string, double> ProcessParameters,
    int NLayers,
    int DModel,
    int NCtx,
    double FitFraction,
    int EmergencePanels,
    string ConfigJson,
    string Architecture = "transformer");

/// <summary>How training ended (summary.json).</summary>
public sealed record TrainingOutcome(double ValidationLoss, double LossFloor, long Tokens, double WallSeconds);

/// <summary>Held-out scores of one mixture probe.</summary>
public sealed record MixtureScore(double HeldOutMse, double HeldOutR2, double ShuffleMse);

/// <summary>The two extra probes of a non-ergodic mixture: which component generated the sequence, and the belief within it.</summary>
public sealed record MixtureMetrics(int Components, MixtureScore ComponentIdentity, MixtureScore WithinComponentBelief);

/// <summary>
/// Everything the run report shows, as the earlier stages computed it. Reporting draws and describes these numbers;
/// it recomputes none of them.
/// </summary>
/// <param name="Process">The process, for its name and its exact belief geometry.</param>
/// <param name="Sites">The final probe at every site, in probe order (the concatenation, if any, flagged).</param>
/// <param name="MainSite">The site the emergence figures follow (the last block's residual stream).</param>
/// <param name="Truth">True beliefs of the distinct prefixes the probe saved, weighted by prefix probability.</param>
/// <param name="PredictedBySite">Predicted beliefs per site, row-aligned with <paramref name="Truth"/>; at least the main site.</param>
/// <param name="Checkpoints">The main site's predicted geometry at every probed checkpoint, in training order.</param>
/// <param name="Distances">The main site's distance analysis, computed with its pairs kept.</param>
/// <param name="Mixture">The mixture probes, for a mixture process; else null.</param>
/// <param name="SourceDirectory">The run directory, named in the footer.</param>
/// <param name="MspGraph">The process's whole mixed-state presentation when it is finite and small enough to draw; else null.</param>
public sealed record RunReportInput(
    ExperimentFacts Experiment,
    Process Process,
    TrainingOutcome Training,
    LossData Loss,
    IReadOnlyList<SiteMetrics> Sites,
    string MainSite,
    BeliefPoints Truth,
    IReadOnlyDictionary<string, double[]> PredictedBySite,
    IReadOnlyList<CheckpointGeometry> Checkpoints,
    DistanceAnalysis Distances,
    MixtureMetrics? Mixture,
    string SourceDirectory,
    DimensionReport? Dimension = null,
    IReadOnlyList<ReportSection>? ExtraSections = null,
    MspGraph? MspGraph = null);

/// <summary>The rendered report: the HTML page and the figure files written for it.</summary>
public sealed record RenderedReport(string Html, IReadOnlyList<FigureFile> Figures, AnimationFile? Animation);
