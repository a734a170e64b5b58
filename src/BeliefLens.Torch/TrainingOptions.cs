using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Core;

namespace BeliefLens.Torch;

/// <summary>Training hyper-parameters; validated at construction. Defaults reach the Mess3 loss floor quickly on CPU.</summary>
public sealed record TrainingOptions
{
    public static readonly IReadOnlyList<string> Optimizers = ["adamw", "sgd"];
    public static readonly IReadOnlyList<string> Schedules = ["cosine", "constant"];
    public static readonly IReadOnlyList<string> DataSchemes = ["sampled", "exact"];

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
        int validationSamples = 20_000)
    {
        Check(steps >= 1, "--steps", "must be at least 1");
        Check(batchSize is >= 1 and <= 1 << 20, "--batch", "must be a positive batch size");
        Check(learningRate > 0 && double.IsFinite(learningRate), "--lr", "must be a positive learning rate");
        Check(Optimizers.Contains(optimizer), "optimizer", $"use one of {string.Join(", ", Optimizers)}");
        Check(weightDecay >= 0 && double.IsFinite(weightDecay), "weight_decay", "must be 0 or more");
        Check(beta1 is >= 0 and < 1 && beta2 is >= 0 and < 1, "betas", "each must lie in [0, 1)");
        Check(momentum is >= 0 and < 1, "momentum", "must lie in [0, 1)");
        Check(warmupSteps >= 0, "warmup_steps", "must be 0 or more");
        Check(Schedules.Contains(lrSchedule), "lr_schedule", $"use one of {string.Join(", ", Schedules)}");
        Check(minLrFraction is >= 0 and <= 1, "min_lr_fraction", "must lie in [0, 1]");
        Check(gradClip >= 0 && double.IsFinite(gradClip), "grad_clip", "must be 0 (off) or a positive norm");
        Check(DataSchemes.Contains(data), "data", $"use one of {string.Join(", ", DataSchemes)}");
        Check(evalEvery >= 1, "eval_every", "must be at least 1");
        Check(checkpointEvery >= 0, "checkpoint_every", "must be 0 (final only) or more");
        Check(logSpacedCheckpoints >= 0, "log_checkpoints", "must be 0 or more");
        Check(lossReadEvery >= 1, "loss_read_every", "must be at least 1");
        Check(exactValidationLimit >= 0, "exact_validation_limit", "must be 0 or more");
        Check(validationSamples >= 1, "validation_samples", "must be at least 1");
        (Steps, BatchSize, LearningRate, Optimizer, WeightDecay, Beta1, Beta2, Momentum, WarmupSteps, LrSchedule, MinLrFraction, GradClip, Seed, Data) =
            (steps, batchSize, learningRate, optimizer, weightDecay, beta1, beta2, momentum, warmupSteps, lrSchedule, minLrFraction, gradClip, seed, data);
        (EvalEvery, CheckpointEvery, LogSpacedCheckpoints, LossReadEvery, ExactValidationLimit, ValidationSamples) =
            (evalEvery, checkpointEvery, logSpacedCheckpoints, lossReadEvery, exactValidationLimit, validationSamples);
    }

    public long Steps { get; init; }
    public int BatchSize { get; init; }
    public double LearningRate { get; init; }
    public string Optimizer { get; init; }
    public double WeightDecay { get; init; }
    public double Beta1 { get; init; }
    public double Beta2 { get; init; }
    public double Momentum { get; init; }
    public int WarmupSteps { get; init; }
    public string LrSchedule { get; init; }
    public double MinLrFraction { get; init; }
    public double GradClip { get; init; }
    public ulong Seed { get; init; }

    /// <summary>"sampled": fresh sequences from the process each step; "exact": the paper's scheme, batches drawn from the exact distribution over all sequences.</summary>
    public string Data { get; init; }

    public long EvalEvery { get; init; }
    public long CheckpointEvery { get; init; }
    public int LogSpacedCheckpoints { get; init; }
    public int LossReadEvery { get; init; }

    /// <summary>Validation is exact when at most this many length-n_ctx sequences exist; otherwise a fixed sample.</summary>
    public long ExactValidationLimit { get; init; }

    public int ValidationSamples { get; init; }

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

    private static void Check(bool ok, string field, string fix)
    {
        if (!ok)
        {
            throw new BeliefLensInputException($"{field}: {fix}.");
        }
    }
}
