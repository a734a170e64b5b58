using Stopwatch = System.Diagnostics.Stopwatch;
using System.Globalization;
using BeliefLens.Core;
using BeliefLens.Runs;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>What the progress callback sees; the library stays UI-free.</summary>
public sealed record TrainingProgress(long Step, long TotalSteps, double TrainLoss, double LossFloor, double TokensPerSecond, double[]? ValidationLoss);

/// <summary>The end-of-run record written to summary.json (means over positions, nats).</summary>
public sealed record TrainingSummary(
    string Process, long Steps, long Tokens, double WallSeconds, double ValidationLoss, double LossFloor,
    double[] ValidationLossPerPosition, double[] LossFloorPerPosition, bool ExactValidation);

/// <summary>Raised when the loss becomes NaN or Inf; the last good checkpoint is kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);

/// <summary>What to do with a run directory that already holds a run.</summary>
public enum ExistingRun
{
    /// <summary>Refuse it: only an empty directory gets a new run.</summary>
    Refuse,

    /// <summary>Continue it from its last complete checkpoint; its config.json must match field for field.</summary>
    Resume,

    /// <summary>Delete its outputs and start over.</summary>
    Replace,
}

/// <summary>What to train on: the resolved process plus how the user named it (for config.json).</summary>
/// <param name="Experiment">The experiment's name, recorded in config.json by the run pipeline.</param>
/// <param name="Probe">The pipeline's probe settings, recorded in config.json so a resumed run must match them too.</param>
public sealed record TrainingRun(Process Process, string ProcessSpec, IReadOnlyDictionary<string, double> ProcessParameters,
    TransformerConfig Model, TrainingOptions Options, string Device = "cpu", string? Experiment = null, ProbeConfig? Probe = null);

/// <summary>Trains a model (<see cref="SequenceModels.Create"/>: transformer or recurrent) on a process with checkpoints, metrics and exact validation.</summary>
public static class Trainer
{
    /// <summary>The run's config.json.</summary>
    public static RunConfig ResolvedConfig(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var parameters = run.ProcessParameters.OrderBy(kv => kv.Key, StringComparer.Ordinal).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new RunConfig(run.ProcessSpec, run.Process.Name, parameters, run.Model.ToRecord(), run.Options.ToRecord(), run.Experiment, run.Probe);
    }

    /// <summary>
    /// Prepares the run directory: a fresh one gets config.json; one holding a run is refused, resumed (the configs
    /// must match) or replaced, as <paramref name="existing"/> says. Returns the step to resume from (0 for a fresh run).
    /// </summary>
    public static long PrepareDirectory(TrainingRun run, RunWriter directory, ExistingRun existing)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(directory);
        var dir = directory.Directory;
        var config = ResolvedConfig(run);
        if (dir.HoldsRun && existing != ExistingRun.Replace)
        {
            if (existing == ExistingRun.Refuse)
            {
                throw new BeliefLensInputException($"{dir.Path}: already holds a run; resume it or replace it.");
            }

            if (RunJson.FirstDifference(dir.ReadConfig(), config) is string difference)
            {
                throw new BeliefLensInputException($"{dir.ConfigPath}: holds a different run ({difference}); resume it with its own settings, or replace it.");
            }

            var steps = dir.CompleteCheckpointSteps();
            return steps.Count == 0 ? 0 : steps[^1];
        }

        if (!dir.IsEmpty)
        {
            if (existing != ExistingRun.Replace)
            {
                throw new BeliefLensInputException($"{dir.Path}: is not empty and holds no run; choose an empty directory, or replace its contents.");
            }

            directory.ClearForReplacement();
        }

        directory.WriteConfig(config);
        return 0;
    }

    /// <summary>
    /// Trains in <paramref name="directory"/> (whose lock the caller holds) to the end, or until cancelled; a cancelled
    /// or killed run continues from its last checkpoint with <see cref="ExistingRun.Resume"/>.
    /// </summary>
    public static TrainingSummary Run(TrainingRun run, RunWriter directory, ExistingRun existing = ExistingRun.Refuse,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(directory);
        var (process, modelConfig, options, dir) = (run.Process, run.Model, run.Options, directory.Directory);
        if (modelConfig.DVocab != process.VocabSize)
        {
            throw new BeliefLensInputException($"model.d_vocab: the model has {modelConfig.DVocab} tokens but the process emits {process.VocabSize}; set it to {process.VocabSize}.");
        }

        Device device = ParseDevice(run.Device);
        var config = ResolvedConfig(run);
        long startStep = PrepareDirectory(run, directory, existing);
        int nCtx = modelConfig.NCtx;
        using var model = SequenceModels.Create(modelConfig, device, options.Seed);
        using var optimizer = new FlatOptimizer(model, options);
        var source = new SequenceSource(process, options.Data, options.BatchSize, nCtx + 1, new Rng(options.Seed));
        using var validation = ValidationSet.Create(process, nCtx, options.ExactValidationLimit, options.ValidationSamples, options.Seed, device);
        double priorWall = 0;
        if (startStep > 0)
        {
            var state = Checkpoints.LoadTraining(dir, startStep, model, optimizer);
            optimizer.StepCount = state.OptimizerSteps;
            source.Rng = Rng.FromState(state.RngState.ToArray());
            priorWall = state.WallSeconds;
        }

        var checkpointSteps = options.CheckpointSteps();
        using var metrics = directory.OpenMetrics(keepThroughStep: startStep);
        var tensorBoard = TensorBoardLog.OpenTraining(directory);
        long tokensPerStep = (long)options.BatchSize * nCtx;
        var clock = Stopwatch.StartNew();
        var windowClock = Stopwatch.StartNew();
        long windowStart = startStep;
        using var lossSum = zeros([], dtype: float32, device: device);
        double lastLoss = double.NaN;
        double[]? lastValidation = null;
        for (long step = startStep; step < options.Steps; step++)
        {
            cancellation.ThrowIfCancellationRequested();
            double lr = options.LearningRateAt(step);
            using (var scope = NewDisposeScope())
            {
                var batch = source.Next(device);
                model.ZeroGrad();
                var loss = model.NextTokenLoss(batch);
                loss.backward();
                optimizer.Step(lr);
                lossSum.add_(loss.detach());
            }

            long done = step + 1;
            bool checkpoint = checkpointSteps.Contains(done);
            // Every eval_every steps and at every checkpoint (log-spaced ones fill the early, log-x part of the loss curve).
            bool evaluate = done % options.EvalEvery == 0 || checkpoint || done == options.Steps;
            if (done % options.LossReadEvery == 0 || checkpoint || evaluate)
            {
                // One host round trip per window: the mean training loss since the last read.
                long count = done - windowStart;
                lastLoss = lossSum.item<float>() / count;
                lossSum.zero_();
                double seconds = windowClock.Elapsed.TotalSeconds;
                double tokensPerSecond = count * tokensPerStep / Math.Max(seconds, 1e-9);
                windowClock.Restart();
                windowStart = done;
                if (!double.IsFinite(lastLoss) || (checkpoint && !model.FlatParameters.isfinite().all().item<bool>()))
                {
                    var good = dir.CompleteCheckpointSteps();
                    string kept = good.Count > 0 ? $"the last good checkpoint is step {good[^1]}" : "no checkpoint was written";
                    throw new TrainingDivergedException(
                        $"training diverged: the loss became {lastLoss.ToString(CultureInfo.InvariantCulture)} by step {done}; {kept}. Lower training.learning_rate or raise training.grad_clip, then start the run over.");
                }

                var line = new MetricsLine(done, done * tokensPerStep, lastLoss, lr, Math.Round(tokensPerSecond, 1));
                lastValidation = null;
                if (evaluate)
                {
                    // Mid-run: a cheap estimate on a fixed sample; the last step: the whole (exact) set.
                    bool whole = done == options.Steps;
                    lastValidation = whole ? validation.Evaluate(model) : validation.Estimate(model);
                    long scored = whole ? validation.Count : validation.EstimateCount;
                    line = line with
                    {
                        ValLoss = Rounded(lastValidation),
                        ValExact = validation.IsExact && scored == validation.Count,
                        ValSequences = scored,
                        ValLossMean = lastValidation.Average(),
                        LossFloor = Rounded(validation.Floor),
                        RelativeLoss = Rounded(lastValidation.Select((l, t) => l / validation.Floor[t]).ToArray()),
                    };
                    windowClock.Restart();
                }

                metrics.Append(line);
                tensorBoard.Add(line);
                progress?.Invoke(new TrainingProgress(done, options.Steps, lastLoss, validation.FloorMean, tokensPerSecond, lastValidation));
            }

            if (checkpoint)
            {
                var sidecar = new CheckpointSidecar(done, done * tokensPerStep, optimizer.StepCount, source.Rng.GetState(),
                    priorWall + clock.Elapsed.TotalSeconds, lastLoss, config.Process, config.ProcessParams, config.Model, options.Seed);
                Checkpoints.SaveTraining(directory, model, optimizer, sidecar);
            }
        }

        var finalValidation = lastValidation ?? validation.Evaluate(model);
        var summary = new TrainingSummary(
            run.ProcessSpec, options.Steps, options.Steps * tokensPerStep, priorWall + clock.Elapsed.TotalSeconds,
            finalValidation.Average(), validation.FloorMean, finalValidation, validation.Floor, validation.IsExact);
        directory.WriteSummary(new RunSummary(
            summary.Process, summary.Steps, summary.Tokens, Math.Round(summary.WallSeconds, 3), summary.ValidationLoss, summary.LossFloor,
            summary.ValidationLoss / summary.LossFloor, summary.ExactValidation, Rounded(summary.ValidationLossPerPosition),
            Rounded(summary.LossFloorPerPosition)));
        return summary;
    }

    /// <summary>The device named by a run's <c>device</c> field: cpu, cuda or cuda:N.</summary>
    public static Device ParseDevice(string name)
    {
        if (name is not ("cpu" or "cuda") && !name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            throw new BeliefLensInputException($"device: '{name}' is not supported; use cpu or cuda.");
        }

        if (name.StartsWith("cuda", StringComparison.Ordinal) && !TorchSharp.torch.cuda.is_available())
        {
            throw new BeliefLensInputException("device: CUDA is not available here (TorchSharp-cpu build or no GPU); use cpu.");
        }

        return new Device(name);
    }

    /// <summary>Per-position losses rounded to 7 decimals, as metrics.jsonl and summary.json keep them.</summary>
    private static double[] Rounded(IEnumerable<double> values) => values.Select(v => Math.Round(v, 7)).ToArray();
}
