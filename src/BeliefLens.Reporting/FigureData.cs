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

/// <summary>Probe errors at one residual-stream site (use Site = "concat" for the concatenation of all layers).</summary>
public sealed record ProbeSiteErrors(string Site, double InSampleMse, double HeldOutMse, double ShuffleMse, double UntrainedMse);

/// <summary>An animated GIF written to disk, with its caption.</summary>
public sealed record AnimationFile(string Name, string GifPath, string Caption, int Width, int Height, int FrameCount);
