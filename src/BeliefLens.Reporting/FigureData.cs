using BeliefLens.Analysis;

namespace BeliefLens.Reporting;

/// <summary>The probe's predicted geometry at one training checkpoint.</summary>
/// <param name="TokensSeen">Training tokens seen when the checkpoint was taken.</param>
/// <param name="ProbeMse">Held-out probe MSE at this checkpoint.</param>
/// <param name="PredictedBeliefs">Flat <c>[N][S]</c>, row-aligned with the true beliefs passed beside it.</param>
public sealed record CheckpointGeometry(long TokensSeen, double ProbeMse, double[] PredictedBeliefs);

/// <summary>Validation loss over training, and the final loss per context position, with the floors.</summary>
/// <param name="Tokens">Tokens seen at each evaluation (positive, increasing).</param>
/// <param name="ValidationLoss">Mean validation loss (nats) at each evaluation.</param>
/// <param name="LossFloor">Mean myopic-entropy floor over the context (nats).</param>
/// <param name="LossPerPosition">Final validation loss at each context position 0..n_ctx-1.</param>
/// <param name="FloorPerPosition">Myopic entropy h(t+1) at each context position.</param>
public sealed record LossData(long[] Tokens, double[] ValidationLoss, double LossFloor, double[] LossPerPosition, double[] FloorPerPosition);

/// <summary>
/// One probed residual-stream site as the probe scored it. A metric the probe did not record is NaN (printed as
/// "n/a"); <paramref name="Pca"/> is the residual stream's spectrum as the probe saved it, null when it saved none.
/// </summary>
/// <param name="Site">Hook name, e.g. <c>blocks.3.hook_resid_post</c>, or the concatenation's name.</param>
/// <param name="IsConcatenation">True for the probe on all sites concatenated.</param>
public sealed record SiteMetrics(
    string Site,
    bool IsConcatenation,
    int Dims,
    double InSampleMse,
    double HeldOutMse,
    double HeldOutR2,
    double ShuffleMse,
    double UntrainedMse,
    double NextTokenMse,
    PcaResult? Pca = null);

/// <summary>A predicted-belief panel: which site the probe read and what it scored there.</summary>
public sealed record PredictedPanel(SiteMetrics Site, double[] PredictedBeliefs);

/// <summary>An animated GIF written to disk, with its caption.</summary>
public sealed record AnimationFile(string Name, string GifPath, string Caption, int Width, int Height, int FrameCount);
