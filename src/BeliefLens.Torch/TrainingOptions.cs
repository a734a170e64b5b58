using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Core;
using BeliefLens.Runs;

namespace BeliefLens.Torch;

/// <summary>
/// Training hyper-parameters. Valid by construction: every property validates in its init accessor, so neither the
/// constructor nor a <c>with</c> expression can build an invalid record. Errors name the JSON path
/// (<c>training.batch_size</c>). Defaults reach the Mess3 loss floor quickly on CPU.
/// </summary>
public sealed record TrainingOptions
{
    public static readonly IReadOnlyList<string> Optimizers = ["adamw", "sgd"];
    public static readonly IReadOnlyList<string> Schedules = ["cosine", "constant"];
    public static readonly IReadOnlyList<string> DataSchemes = ["sampled", "exact"];

    /// <summary>"matrices": decay only the weight matrices and embeddings (every W_*; nanoGPT's ≥2-D rule); "all": every parameter, as one torch.optim.AdamW param group does.</summary>
    public static readonly IReadOnlyList<string> WeightDecayTargets = ["matrices", "all"];

    public TrainingOptions(
        long steps = 2000,
        int batchSize = 128,
        double learningRate = 3e-3,
        string optimizer = "adamw",
        double weightDecay = 0,
        double beta1 = 0.9,
        double beta2 = 0.999,
        double momentum = 0.9,
        int warmupSteps = 100,
        string lrSchedule = "cosine",
        double minLrFraction = 0.1,
        double gradClip = 1.0,
        ulong seed = 0,
        string data = "sampled",
        long evalEvery = 500,
        long checkpointEvery = 500,
        int logSpacedCheckpoints = 0,
        int lossReadEvery = 50,
        long exactValidationLimit = 200_000,
        int validationSamples = 4096,
        string weightDecayAppliesTo = "matrices")
    {
        Steps = steps;
        BatchSize = batchSize;
        LearningRate = learningRate;
        Optimizer = optimizer;
        WeightDecay = weightDecay;
        WeightDecayAppliesTo = weightDecayAppliesTo;
        Beta1 = beta1;
        Beta2 = beta2;
        Momentum = momentum;
        WarmupSteps = warmupSteps;
        LrSchedule = lrSchedule;
        MinLrFraction = minLrFraction;
        GradClip = gradClip;
        Seed = seed;
        Data = data;
        EvalEvery = evalEvery;
        CheckpointEvery = checkpointEvery;
        LogSpacedCheckpoints = logSpacedCheckpoints;
        LossReadEvery = lossReadEvery;
        ExactValidationLimit = exactValidationLimit;
        ValidationSamples = validationSamples;
    }

    public long Steps { get; init => field = Valid(value, value >= 1, "steps", "must be at least 1"); }

    public int BatchSize { get; init => field = Valid(value, value is >= 1 and <= 1 << 20, "batch_size", "must be a positive batch size"); }

    public double LearningRate { get; init => field = Valid(value, value > 0 && double.IsFinite(value), "learning_rate", "must be a positive learning rate"); }

    public string Optimizer { get; init => field = Valid(value, Optimizers.Contains(value), "optimizer", $"use one of {string.Join(", ", Optimizers)}"); }

    public double WeightDecay { get; init => field = Valid(value, value >= 0 && double.IsFinite(value), "weight_decay", "must be 0 or more"); }

    /// <summary>Which parameters <see cref="WeightDecay"/> shrinks: "matrices" (default) or "all"; see <see cref="WeightDecayTargets"/>.</summary>
    public string WeightDecayAppliesTo { get; init => field = Valid(value, WeightDecayTargets.Contains(value), "weight_decay_applies_to", $"use one of {string.Join(", ", WeightDecayTargets)}"); }

    public double Beta1 { get; init => field = Valid(value, value is >= 0 and < 1, "beta1", "must lie in [0, 1)"); }

    public double Beta2 { get; init => field = Valid(value, value is >= 0 and < 1, "beta2", "must lie in [0, 1)"); }

    public double Momentum { get; init => field = Valid(value, value is >= 0 and < 1, "momentum", "must lie in [0, 1)"); }

    public int WarmupSteps { get; init => field = Valid(value, value >= 0, "warmup_steps", "must be 0 or more"); }

    public string LrSchedule { get; init => field = Valid(value, Schedules.Contains(value), "lr_schedule", $"use one of {string.Join(", ", Schedules)}"); }

    public double MinLrFraction { get; init => field = Valid(value, value is >= 0 and <= 1, "min_lr_fraction", "must lie in [0, 1]"); }

    public double GradClip { get; init => field = Valid(value, value >= 0 && double.IsFinite(value), "grad_clip", "must be 0 (off) or a positive norm"); }

    public ulong Seed { get; init; }

    /// <summary>"sampled": fresh sequences from the process each step; "exact": the paper's scheme, batches drawn from the exact distribution over all sequences.</summary>
    public string Data { get; init => field = Valid(value, DataSchemes.Contains(value), "data", $"use one of {string.Join(", ", DataSchemes)}"); }

    /// <summary>Validation every this many steps; also at every checkpoint and at the last step (which is exact).</summary>
    public long EvalEvery { get; init => field = Valid(value, value >= 1, "eval_every", "must be at least 1"); }

    public long CheckpointEvery { get; init => field = Valid(value, value >= 0, "checkpoint_every", "must be 0 (final only) or more"); }

    public int LogSpacedCheckpoints { get; init => field = Valid(value, value >= 0, "log_checkpoints", "must be 0 or more"); }

    public int LossReadEvery { get; init => field = Valid(value, value >= 1, "loss_read_every", "must be at least 1"); }

    /// <summary>Validation is exact when at most this many length-n_ctx sequences exist; otherwise a fixed sample.</summary>
    public long ExactValidationLimit { get; init => field = Valid(value, value >= 0, "exact_validation_limit", "must be 0 or more"); }

    /// <summary>
    /// Sequences in the fixed seeded validation sample that mid-run evaluations score (the last step scores the exact
    /// set); every evaluation uses it when the sequence space exceeds <see cref="ExactValidationLimit"/>.
    /// </summary>
    public int ValidationSamples { get; init => field = Valid(value, value >= 1, "validation_samples", "must be at least 1"); }

    /// <summary>Learning rate at 0-based step <paramref name="step"/>: linear warm-up, then cosine decay or constant.</summary>
    public double LearningRateAt(long step)
    {
        if (step < WarmupSteps)
        {
            return LearningRate * (step + 1) / WarmupSteps;
        }

        if (LrSchedule == "constant")
        {
            return LearningRate;
        }

        double progress = Steps <= WarmupSteps ? 1 : (double)(step - WarmupSteps) / Math.Max(1, Steps - WarmupSteps);
        double cosine = 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, progress)));
        return LearningRate * (MinLrFraction + ((1 - MinLrFraction) * cosine));
    }

    /// <summary>Steps (1-based, after that many updates) at which checkpoints are written; always includes the last.</summary>
    public SortedSet<long> CheckpointSteps()
    {
        var set = new SortedSet<long> { Steps };
        if (CheckpointEvery > 0)
        {
            for (long s = CheckpointEvery; s < Steps; s += CheckpointEvery)
            {
                set.Add(s);
            }
        }

        for (int k = 0; k < LogSpacedCheckpoints; k++)
        {
            double fraction = LogSpacedCheckpoints == 1 ? 1 : (double)k / (LogSpacedCheckpoints - 1);
            set.Add(Math.Clamp((long)Math.Round(Math.Exp(fraction * Math.Log(Steps))), 1, Steps));
        }

        return set;
    }

    public JsonObject ToJson() => new()
    {
        ["steps"] = Steps,
        ["batch_size"] = BatchSize,
        ["learning_rate"] = LearningRate,
        ["optimizer"] = Optimizer,
        ["weight_decay"] = WeightDecay,
        ["weight_decay_applies_to"] = WeightDecayAppliesTo,
        ["beta1"] = Beta1,
        ["beta2"] = Beta2,
        ["momentum"] = Momentum,
        ["warmup_steps"] = WarmupSteps,
        ["lr_schedule"] = LrSchedule,
        ["min_lr_fraction"] = MinLrFraction,
        ["grad_clip"] = GradClip,
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["data"] = Data,
        ["eval_every"] = EvalEvery,
        ["checkpoint_every"] = CheckpointEvery,
        ["log_checkpoints"] = LogSpacedCheckpoints,
        ["loss_read_every"] = LossReadEvery,
        ["exact_validation_limit"] = ExactValidationLimit,
        ["validation_samples"] = ValidationSamples,
    };

    /// <summary>The training section of a run's config.json.</summary>
    public TrainingConfig ToRecord() => new(
        Steps, BatchSize, LearningRate, Optimizer, WeightDecay, WeightDecayAppliesTo, Beta1, Beta2, Momentum, WarmupSteps, LrSchedule,
        MinLrFraction, GradClip, Seed, Data, EvalEvery, CheckpointEvery, LogSpacedCheckpoints, LossReadEvery, ExactValidationLimit, ValidationSamples);

    /// <summary>Options from a run's record, validated like any other (errors name <c>training.x</c>).</summary>
    public static TrainingOptions FromRecord(TrainingConfig r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return new TrainingOptions(
            r.Steps, r.BatchSize, r.LearningRate, r.Optimizer, r.WeightDecay, r.Beta1, r.Beta2, r.Momentum, r.WarmupSteps, r.LrSchedule,
            r.MinLrFraction, r.GradClip, r.Seed, r.Data, r.EvalEvery, r.CheckpointEvery, r.LogCheckpoints, r.LossReadEvery,
            r.ExactValidationLimit, r.ValidationSamples, r.WeightDecayAppliesTo);
    }

    /// <summary>Returns <paramref name="value"/> when <paramref name="ok"/>; otherwise throws naming the JSON path training.<paramref name="field"/>.</summary>
    private static T Valid<T>(T value, bool ok, string field, string fix) =>
        ok ? value : throw new BeliefLensInputException($"training.{field}: {Shown(value)} is invalid; {fix}.");

    private static string Shown<T>(T value) => value switch
    {
        string text => $"'{text}'",
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? "null",
    };
}
