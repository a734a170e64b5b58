using System.Text.Json.Serialization;

namespace BeliefLens.Runs;

// The typed files of a run directory. Each record is the exact on-disk shape: snake_case names (RunJson's naming
// policy), fields in file order, nullable where the file may hold null, optional (omitted when null) where the field
// may be absent. Numbers that are NaN or infinite in memory are stored as null (JSON has no such values).
// Records hold lists and dictionaries, so compare them by their JSON (RunJson.ToNode), not with ==.
// Seeds and RNG words are unsigned 64-bit integers stored as strings, which every JSON reader keeps exact.

/// <summary>config.json: what the run trains and probes; a resumed run must match it field for field.</summary>
public sealed record RunConfig(
    string Process,
    string ProcessName,
    IReadOnlyDictionary<string, double> ProcessParams,
    ModelConfig Model,
    TrainingConfig Training,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Experiment = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProbeConfig? Probe = null);

/// <summary>
/// The model section (TransformerLens names; <c>normalization_type</c> is "LN" or null). <c>architecture</c> (rnn, lstm
/// or gru) and <c>ignored_fields</c> (the transformer-only fields such a model does not use) are written only for a
/// recurrent model, so a transformer's config.json is unchanged; absent means transformer.
/// </summary>
public sealed record ModelConfig(
    int NLayers,
    int DModel,
    int NHeads,
    int DHead,
    int DMlp,
    int NCtx,
    int DVocab,
    string ActFn,
    string? NormalizationType,
    bool AttnOnly,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Architecture = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<string>? IgnoredFields = null);

/// <summary>The training section.</summary>
public sealed record TrainingConfig(
    long Steps,
    int BatchSize,
    double LearningRate,
    string Optimizer,
    double WeightDecay,
    string WeightDecayAppliesTo,
    double Beta1,
    double Beta2,
    double Momentum,
    int WarmupSteps,
    string LrSchedule,
    double MinLrFraction,
    double GradClip,
    [property: JsonNumberHandling(RunJson.ExactInteger)] ulong Seed,
    string Data,
    long EvalEvery,
    long CheckpointEvery,
    int LogCheckpoints,
    int LossReadEvery,
    long ExactValidationLimit,
    int ValidationSamples);

/// <summary>The probe section of a <c>run</c> (absent for <c>train</c> alone).</summary>
public sealed record ProbeConfig(
    IReadOnlyList<string> Sites,
    bool Concat,
    string Weighting,
    double FitFraction,
    int MaxSequences,
    int EmergencePanels,
    [property: JsonNumberHandling(RunJson.ExactInteger)] ulong Seed,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Protocol = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MarkovOrder = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? RandomInitNetworks = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? RandomInitSeed = null);

/// <summary>One line of metrics.jsonl; the validation fields are present only on evaluation steps.</summary>
public sealed record MetricsLine(
    long Step,
    long Tokens,
    double TrainLoss,
    double Lr,
    double TokensPerS,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? ValLoss = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? ValLossMean = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? LossFloor = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double>? RelativeLoss = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] bool? ValExact = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? ValSequences = null);

/// <summary>
/// checkpoints/step_XXXXXXX.json: what resuming needs beyond the weights and optimizer buffers, and what loading the
/// checkpoint on its own needs (the model, the process it was trained on and the init seed of the untrained control).
/// </summary>
public sealed record CheckpointSidecar(
    long Step,
    long Tokens,
    long OptimizerSteps,
    [property: JsonNumberHandling(RunJson.ExactInteger)] IReadOnlyList<ulong> RngState,
    double WallSeconds,
    double TrainLoss,
    string Process,
    IReadOnlyDictionary<string, double> ProcessParams,
    ModelConfig Model,
    [property: JsonNumberHandling(RunJson.ExactInteger)] ulong Seed);

/// <summary>
/// checkpoints/train_config.json: the model in TransformerLens's HookedTransformerConfig field names and nothing else,
/// so Python rebuilds it with <c>HookedTransformer(HookedTransformerConfig(**cfg))</c> and loads any step_XXXXXXX.pt
/// beside it with <c>load_state_dict</c>. <see cref="DMlp"/> is null for an attention-only model,
/// <see cref="NormalizationType"/> null for no normalization.
/// </summary>
public sealed record TransformerLensConfig(
    int NLayers,
    int DModel,
    int NCtx,
    int DHead,
    int NHeads,
    int? DMlp,
    string ActFn,
    int DVocab,
    int DVocabOut,
    string? NormalizationType,
    bool AttnOnly,
    double Eps,
    bool UseAttnScale,
    string AttentionDir,
    string PositionalEmbeddingType,
    string ModelName);

/// <summary>summary.json: the training result, plus the final probe's headline numbers once probing is done.</summary>
public sealed record RunSummary(
    string Process,
    long Steps,
    long Tokens,
    double WallSeconds,
    double ValidationLoss,
    double LossFloor,
    double RelativeLoss,
    bool ValidationExact,
    IReadOnlyList<double> ValidationLossPerPosition,
    IReadOnlyList<double> LossFloorPerPosition,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Experiment = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ProbeWeighting = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<SummaryProbe>? Probes = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MixtureResult? MixtureProbes = null);

/// <summary>One site of summary.json's <c>probes</c>.</summary>
public sealed record SummaryProbe(
    string Site,
    double? MseInsample,
    double? MseHeldout,
    double? R2Heldout,
    double? ShuffleMse,
    double? UntrainedMse,
    double? NextTokenMse);

/// <summary>One line of probes.jsonl: the probe of one checkpoint (step 0 is the untrained model).</summary>
public sealed record ProbeLine(long Step, long Tokens, IReadOnlyList<SiteMetrics> Sites);

/// <summary>probe.json: the final probe of a run, or the probe of one checkpoint by <c>probe</c>.</summary>
/// <param name="DistinctPrefixes">
/// How many rows the arrays beside it hold when they hold one per distinct prefix (a run's probe/); null when they hold
/// one per (sequence, position), as a probe of one checkpoint writes them.
/// </param>
public sealed record ProbeResult(
    string Process,
    string Weighting,
    int Sequences,
    bool Exhaustive,
    int? DistinctPrefixes,
    IReadOnlyList<SiteMetrics> Sites,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] MixtureResult? Mixture = null);

/// <summary>One site's probe with its controls; the PCA, distance and regularisation groups are present when computed.</summary>
public sealed record SiteMetrics(
    string Site,
    int Dims,
    int Rows,
    double? MseInsample,
    double? MseHeldout,
    double? R2Insample,
    double? R2Heldout,
    double? ShuffleMse,
    double? NextTokenMse,
    double? UntrainedMse,
    double? RmseInsample,
    double? RmseHeldout,
    double? MeanDistanceInsample,
    double? MeanDistanceHeldout,
    double? BeliefVariance,
    double? NextTokenR2,
    int EffectiveRank,
    int? FitRowsMerged,
    [property: JsonPropertyName("pca_components_80"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PcaComponents80 = null,
    [property: JsonPropertyName("pca_components_90"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PcaComponents90 = null,
    [property: JsonPropertyName("pca_components_95"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PcaComponents95 = null,
    [property: JsonPropertyName("pca_components_99"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? PcaComponents99 = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<double?>? PcaExplainedRatio = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? DistancePoints = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? DistanceR2PredictedVsBeliefs = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? DistanceR2PredictedVsNextToken = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? DistanceR2BeliefsVsNextToken = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ProbeRegularisation? Regularisation = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Warning = null);

/// <summary>How the held-out fit's ridge and cut-off were chosen (the concatenation's probe).</summary>
public sealed record ProbeRegularisation(
    string ChosenBy,
    double ValidationFitFraction,
    double? Ridge,
    double? RidgePerUnitWeight,
    double? Rcond,
    double? ValidationMse,
    double? InsampleRidge,
    double? InsampleRcond,
    IReadOnlyList<RegularisationCandidate> Candidates);

/// <summary>One ridge/cut-off pair tried while choosing the regularisation.</summary>
public sealed record RegularisationCandidate(double? Ridge, double? Rcond, int EffectiveRank, double? ValidationMse);

/// <summary>The two extra probes of a non-ergodic mixture: which component, and the belief within it.</summary>
public sealed record MixtureResult(string Site, int Components, MixtureScore ComponentIdentity, MixtureScore WithinComponentBelief);

/// <summary>One mixture probe's scores.</summary>
public sealed record MixtureScore(int Dims, double? MseInsample, double? MseHeldout, double? R2Heldout, double? ShuffleMse);

/// <summary>.lock-holder.json: who holds a run directory's lock, for the message that refuses a second writer.</summary>
public sealed record LockHolder(int Pid, string Host, string Command, DateTimeOffset StartedUtc);

/// <summary>
/// quantum/quantum_probe.json: the quantum paper's probe protocol on one checkpoint (Riechers, Elliott &amp; Shai 2025,
/// App. F): anchors, cutoff grid and folds, the Markov-order-M control, the random-init seeds, and one row per site.
/// </summary>
public sealed record QuantumProbeResult(
    string Process,
    string Architecture,
    long Step,
    int NCtx,
    int Anchors,
    int Folds,
    int Cutoffs,
    int MarkovOrder,
    int MarkovStates,
    int MarkovRestarts,
    IReadOnlyList<long> RandomInitSeeds,
    IReadOnlyList<QuantumSiteResult> Sites);

/// <summary>
/// One site of a quantum probe: RMSE = √(Σp‖η−η̂‖²) in-sample and cross-validated held-out, the chosen cutoff, the mean
/// RMSE of the same probe on the random-init networks and the ratio, the same for the Markov-M beliefs, and the
/// cosine-similarity R² of the predicted against the true geometry for both.
/// </summary>
public sealed record QuantumSiteResult(
    string Site,
    int Dims,
    double? Rmse,
    double? RmseHeldout,
    double Cutoff,
    int Rank,
    double? RandomInitRmse,
    double? NormalizedRmse,
    double? MarkovRmse,
    double? MarkovRmseHeldout,
    double? MarkovRandomInitRmse,
    double? MarkovNormalizedRmse,
    double? CosineR2,
    double? CosineR2Markov);

/// <summary>One row of universality.json: one site of one run's quantum probe.</summary>
public sealed record UniversalityRow(
    string Run,
    string Process,
    string Architecture,
    string Site,
    double? Rmse,
    double? RmseHeldout,
    double? RandomInitRmse,
    double? NormalizedRmse,
    double? MarkovRmse,
    double? MarkovNormalizedRmse,
    double? CosineR2,
    double? CosineR2Markov);
