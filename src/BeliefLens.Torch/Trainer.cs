using Stopwatch = System.Diagnostics.Stopwatch;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Core;
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

/// <summary>What to train on and where: the resolved process plus how the user named it (for config.json).</summary>
/// <paramref name="ExtraConfig"/> holds further sections (e.g. an experiment's probe settings) that config.json records too.
public sealed record TrainingRun(Process Process, string ProcessSpec, IReadOnlyDictionary<string, double> ProcessParameters,
    TransformerConfig Model, TrainingOptions Options, string RunDirectory, string Device = "cpu", JsonObject? ExtraConfig = null);

/// <summary>Trains a <see cref="HookedTransformer"/> on a process with checkpoints, metrics and exact validation.</summary>
public static class Trainer
{
    public static JsonObject ResolvedConfig(TrainingRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var parameters = new JsonObject();
        foreach (var (k, v) in run.ProcessParameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            parameters[k] = v;
        }

        var config = new JsonObject
        {
            ["process"] = run.ProcessSpec,
            ["process_name"] = run.Process.Name,
            ["process_params"] = parameters,
            ["model"] = run.Model.ToJson(),
            ["training"] = run.Options.ToJson(),
        };
        foreach (var (key, value) in run.ExtraConfig ?? [])
        {
            config[key] = value?.DeepClone();
        }

        return config;
    }

    /// <summary>
    /// Prepares the run directory: a fresh one gets config.json; one holding a run is refused unless
    /// <paramref name="resume"/> (the configs must match) or <paramref name="force"/> (the old run is deleted).
    /// Returns the step to resume from (0 for a fresh run).
    /// </summary>
    public static long PrepareDirectory(TrainingRun run, bool resume, bool force)
    {
        ArgumentNullException.ThrowIfNull(run);
        string dir = run.RunDirectory;
        string configPath = Path.Combine(dir, "config.json");
        string config = ResolvedConfig(run).ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (resume && force)
        {
            throw new BeliefLensInputException("--resume and --force: give one of them, not both.");
        }

        if (File.Exists(configPath) && !force)
        {
            if (!resume)
            {
                throw new BeliefLensInputException($"--out {dir}: already holds a run; pass --resume to continue it or --force to replace it.");
            }

            string existing = File.ReadAllText(configPath);
            if (!JsonNode.DeepEquals(JsonNode.Parse(existing), JsonNode.Parse(config)))
            {
                throw new BeliefLensInputException($"--resume: the options differ from {configPath}; resume with the original options or use --force to start over.");
            }

            var steps = Checkpoints.CompleteSteps(dir);
            return steps.Count == 0 ? 0 : steps[^1];
        }

        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
        {
            if (!force)
            {
                throw new BeliefLensInputException(resume
                    ? $"--resume: {dir} holds no run (no config.json); choose an empty directory or use --force."
                    : $"--out {dir}: is not empty and holds no run; choose an empty directory or use --force.");
            }

            foreach (string name in new[] { "config.json", "metrics.jsonl", "summary.json" })
            {
                File.Delete(Path.Combine(dir, name));
            }

            if (Directory.Exists(Checkpoints.Directory(dir)))
            {
                Directory.Delete(Checkpoints.Directory(dir), recursive: true);
            }
        }

        Directory.CreateDirectory(dir);
        Checkpoints.WriteAtomically(configPath, s => s.Write(System.Text.Encoding.UTF8.GetBytes(config)));
        return 0;
    }

    /// <summary>Runs training to the end (or until cancelled, after which --resume continues it).</summary>
    public static TrainingSummary Run(TrainingRun run, bool resume = false, bool force = false,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        var (process, modelConfig, options, dir) = (run.Process, run.Model, run.Options, run.RunDirectory);
        if (modelConfig.DVocab != process.VocabSize)
        {
            throw new BeliefLensInputException($"d_vocab: the model has {modelConfig.DVocab} tokens but the process emits {process.VocabSize}; set d_vocab to {process.VocabSize}.");
        }

        Device device = ParseDevice(run.Device);
        long startStep = PrepareDirectory(run, resume, force);
        int nCtx = modelConfig.NCtx;
        using var model = new HookedTransformer(modelConfig, device, options.Seed);
        using var optimizer = new FlatOptimizer(model, options);
        var source = new SequenceSource(process, options.Data, options.BatchSize, nCtx + 1, new Rng(options.Seed));
        using var validation = ValidationSet.Create(process, nCtx, options.ExactValidationLimit, options.ValidationSamples, options.Seed, device);
        double priorWall = 0;
        if (startStep > 0)
        {
            var state = Checkpoints.LoadTraining(dir, startStep, model, optimizer);
            optimizer.StepCount = state["optimizer_steps"]!.GetValue<long>();
            source.Rng = Rng.FromState(state["rng_state"]!.AsArray().Select(n => ulong.Parse(n!.GetValue<string>(), CultureInfo.InvariantCulture)).ToArray());
            priorWall = state["wall_seconds"]!.GetValue<double>();
        }

        var checkpointSteps = options.CheckpointSteps();
        string metricsPath = Path.Combine(dir, "metrics.jsonl");
        TruncateMetrics(metricsPath, startStep);
        using var metrics = new StreamWriter(metricsPath, append: true);
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
                    var good = Checkpoints.CompleteSteps(dir);
                    string kept = good.Count > 0 ? $"the last good checkpoint is step {good[^1]}" : "no checkpoint was written";
                    throw new TrainingDivergedException(
                        $"training diverged: the loss became {lastLoss.ToString(CultureInfo.InvariantCulture)} by step {done}; {kept}. Lower --lr or raise grad_clip, then rerun with --force.");
                }

                var line = new JsonObject
                {
                    ["step"] = done,
                    ["tokens"] = done * tokensPerStep,
                    ["train_loss"] = lastLoss,
                    ["lr"] = lr,
                    ["tokens_per_s"] = Math.Round(tokensPerSecond, 1),
                };
                lastValidation = null;
                if (evaluate)
                {
                    // Mid-run: a cheap estimate on a fixed sample; the last step: the whole (exact) set.
                    bool whole = done == options.Steps;
                    lastValidation = whole ? validation.Evaluate(model) : validation.Estimate(model);
                    long scored = whole ? validation.Count : validation.EstimateCount;
                    line["val_loss"] = ToJsonArray(lastValidation);
                    line["val_exact"] = validation.IsExact && scored == validation.Count;
                    line["val_sequences"] = scored;
                    line["val_loss_mean"] = lastValidation.Average();
                    line["loss_floor"] = ToJsonArray(validation.Floor);
                    line["relative_loss"] = ToJsonArray(lastValidation.Select((l, t) => l / validation.Floor[t]).ToArray());
                    windowClock.Restart();
                }

                metrics.WriteLine(line.ToJsonString());
                metrics.Flush();
                progress?.Invoke(new TrainingProgress(done, options.Steps, lastLoss, validation.FloorMean, tokensPerSecond, lastValidation));
            }

            if (checkpoint)
            {
                var state = new JsonObject
                {
                    ["step"] = done,
                    ["tokens"] = done * tokensPerStep,
                    ["optimizer_steps"] = optimizer.StepCount,
                    ["rng_state"] = new JsonArray(source.Rng.GetState().Select(w => (JsonNode)w.ToString(CultureInfo.InvariantCulture)).ToArray()),
                    ["wall_seconds"] = priorWall + clock.Elapsed.TotalSeconds,
                    ["train_loss"] = lastLoss,
                };
                Checkpoints.SaveTraining(dir, done, model, optimizer, state);
            }
        }

        var finalValidation = lastValidation ?? validation.Evaluate(model);
        var summary = new TrainingSummary(
            run.ProcessSpec, options.Steps, options.Steps * tokensPerStep, priorWall + clock.Elapsed.TotalSeconds,
            finalValidation.Average(), validation.FloorMean, finalValidation, validation.Floor, validation.IsExact);
        WriteSummary(dir, summary);
        return summary;
    }

    public static Device ParseDevice(string name)
    {
        if (name is not ("cpu" or "cuda") && !name.StartsWith("cuda:", StringComparison.Ordinal))
        {
            throw new BeliefLensInputException($"--device: '{name}' is not supported; use cpu or cuda.");
        }

        if (name.StartsWith("cuda", StringComparison.Ordinal) && !TorchSharp.torch.cuda.is_available())
        {
            throw new BeliefLensInputException("--device: CUDA is not available here (TorchSharp-cpu build or no GPU); use --device cpu.");
        }

        return new Device(name);
    }

    private static JsonArray ToJsonArray(double[] values) => new(values.Select(v => (JsonNode)JsonValue.Create(Math.Round(v, 7))).ToArray());

    private static void WriteSummary(string dir, TrainingSummary s)
    {
        var json = new JsonObject
        {
            ["process"] = s.Process,
            ["steps"] = s.Steps,
            ["tokens"] = s.Tokens,
            ["wall_seconds"] = Math.Round(s.WallSeconds, 3),
            ["validation_loss"] = s.ValidationLoss,
            ["loss_floor"] = s.LossFloor,
            ["relative_loss"] = s.ValidationLoss / s.LossFloor,
            ["validation_exact"] = s.ExactValidation,
            ["validation_loss_per_position"] = ToJsonArray(s.ValidationLossPerPosition),
            ["loss_floor_per_position"] = ToJsonArray(s.LossFloorPerPosition),
        };
        Checkpoints.WriteAtomically(Path.Combine(dir, "summary.json"),
            stream => stream.Write(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }))));
    }

    /// <summary>On resume, drop metric lines written after the checkpoint we restart from.</summary>
    private static void TruncateMetrics(string path, long startStep)
    {
        if (!File.Exists(path))
        {
            return;
        }

        var kept = File.ReadAllLines(path).Where(line =>
        {
            try
            {
                return JsonNode.Parse(line)?["step"]?.GetValue<long>() <= startStep;
            }
            catch (JsonException)
            {
                return false; // a line cut off by a kill
            }
        }).ToList();
        File.WriteAllLines(path, kept);
    }
}
