using BeliefLens.Core;
using BeliefLens.Runs;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests;

public sealed class TrainingTests : IDisposable
{
    private static readonly TransformerConfig Tiny = new(nLayers: 1, dModel: 16, nHeads: 2, dHead: 8, dMlp: 32, nCtx: 4, dVocab: 3);
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-train-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private TrainingRun Run(TrainingOptions options, TransformerConfig? model = null) =>
        new(BuiltinProcesses.Mess3(), "mess3", new Dictionary<string, double>(), model ?? Tiny, options);

    private RunDirectory Dir(string name) => new(Path.Combine(_root, name));

    /// <summary>Trains in the named directory, holding its lock as every writer must.</summary>
    private TrainingSummary Train(TrainingRun run, string name, ExistingRun existing = ExistingRun.Refuse,
        Action<TrainingProgress>? progress = null, CancellationToken cancellation = default)
    {
        using var writer = Dir(name).Lock("TrainingTests");
        return Trainer.Run(run, writer, existing, progress, cancellation);
    }

    private static TrainingOptions Short(long steps = 60, string data = "sampled", string optimizer = "adamw") =>
        new(steps: steps, batchSize: 16, learningRate: 3e-3, optimizer: optimizer, warmupSteps: 5, seed: 11, data: data,
            evalEvery: 1000, checkpointEvery: 20, lossReadEvery: 10);

    private float[] FinalWeights(string name, long step)
    {
        var state = Checkpoints.LoadStateDict(Dir(name).CheckpointPath(step));
        return state.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Where(kv => kv.Value.dtype == float32)
            .SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();
    }

    [Fact]
    public void ATinyModelLearnsTowardTheFloor()
    {
        var options = new TrainingOptions(steps: 400, batchSize: 64, learningRate: 1e-2, warmupSteps: 20, seed: 3, evalEvery: 400, checkpointEvery: 0);
        var run = Run(options);
        using var validation = ValidationSet.Create(run.Process, Tiny.NCtx, 200_000, 1, 0, CPU);
        using (var untrained = new HookedTransformer(Tiny, seed: 3))
        {
            double before = validation.Evaluate(untrained).Average();
            Assert.True(before > validation.FloorMean + 0.2, $"untrained loss {before} should be near ln 3");
        }

        var summary = Train(run, "learn");
        Assert.True(summary.ExactValidation);
        Assert.Equal(validation.FloorMean, summary.LossFloor, 9);
        Assert.True(summary.ValidationLoss >= summary.LossFloor - 1e-6);
        Assert.True(summary.ValidationLoss < summary.LossFloor * 1.03, $"validation {summary.ValidationLoss} vs floor {summary.LossFloor}");
        Assert.True(File.Exists(Dir("learn").CheckpointPath(400)));
        var written = Dir("learn").ReadSummary();
        Assert.Equal(("mess3", 400L, 400L * 64 * 4), (written.Process, written.Steps, written.Tokens));
        Assert.Equal(summary.ValidationLoss, written.ValidationLoss);
        Assert.Equal(summary.LossFloor, written.LossFloor);

        // The checkpoint carries what loading it on its own needs.
        var sidecar = RunDirectory.ReadSidecarOf(Dir("learn").CheckpointPath(400))!;
        Assert.Equal(Tiny, TransformerConfig.FromRecord(sidecar.Model));
        Assert.Equal(("mess3", 3UL, 400L * 64 * 4), (sidecar.Process, sidecar.Seed, sidecar.Tokens));
    }

    [Fact]
    public void MidRunValidationEstimatesTheExactLossFromAFixedSample()
    {
        // Mess3 at n_ctx 6: 729 sequences in the exact set, 300 in the mid-run sample.
        var config = new TransformerConfig(nLayers: 1, dModel: 16, nHeads: 2, dHead: 8, dMlp: 32, nCtx: 6, dVocab: 3);
        using var validation = ValidationSet.Create(BuiltinProcesses.Mess3(), 6, 200_000, 300, 0, CPU);
        Assert.True(validation.IsExact);
        Assert.Equal(729, validation.Count);
        Assert.Equal(300, validation.EstimateCount);
        using var model = new HookedTransformer(config, seed: 3);
        double[] exact = validation.Evaluate(model);
        double[] estimate = validation.Estimate(model);
        for (int t = 0; t < 6; t++)
        {
            double excess = exact[t] - validation.Floor[t];
            Assert.True(excess > 0.05, $"an untrained model is well above the floor ({excess} at {t})");
            Assert.True(estimate[t] >= validation.Floor[t]); // a sum of KL divergences is never negative
            Assert.InRange(estimate[t] - validation.Floor[t], 0.8 * excess, 1.2 * excess); // seeded: the sample's excess is close
        }

        // A sample no smaller than the whole set: the estimate is the exact loss itself.
        using var whole = ValidationSet.Create(BuiltinProcesses.Mess3(), 6, 200_000, 729, 0, CPU);
        Assert.Equal(729, whole.EstimateCount);
        Assert.Equal(whole.Evaluate(model), whole.Estimate(model));
        Assert.Equal(exact, whole.Evaluate(model));
    }

    [Fact]
    public void TrainingEstimatesMidRunAndScoresTheLastStepExactly()
    {
        var options = Short(40) with { EvalEvery = 10, ValidationSamples = 30, CheckpointEvery = 0, LogSpacedCheckpoints = 0 };
        var run = Run(options);
        var summary = Train(run, "cadence");
        var lines = Dir("cadence").ReadMetrics().Where(l => l.ValLossMean is not null).ToList();
        Assert.Equal([10L, 20, 30, 40], lines.Select(l => l.Step));
        Assert.All(lines.Take(3), l => Assert.False(l.ValExact));
        Assert.All(lines.Take(3), l => Assert.Equal(30, l.ValSequences));
        Assert.True(lines[3].ValExact);
        Assert.Equal(81, lines[3].ValSequences); // every Mess3 sequence of length 4
        Assert.True(summary.ExactValidation);

        using var validation = ValidationSet.Create(run.Process, Tiny.NCtx, options.ExactValidationLimit, 30, options.Seed, CPU);
        using var model = Checkpoints.LoadModel(Dir("cadence").CheckpointPath(40), Tiny);
        Assert.Equal(validation.Evaluate(model).Average(), summary.ValidationLoss, 1e-12);

        // Checkpoint steps are evaluated too, so a log-x loss curve has early points.
        var logged = Run(options with { EvalEvery = 20, LogSpacedCheckpoints = 4 });
        Train(logged, "cadence-log");
        var steps = Dir("cadence-log").ReadMetrics().Where(l => l.ValLossMean is not null).Select(l => l.Step);
        Assert.Equal(logged.Options.CheckpointSteps().Union([20L, 40L]).Order(), steps);
    }

    [Theory]
    [InlineData("sampled", "adamw")]
    [InlineData("exact", "sgd")]
    public void TheSameSeedGivesIdenticalWeights(string data, string optimizer)
    {
        var run = Run(Short(40, data, optimizer));
        Train(run, $"a-{data}");
        Train(run, $"b-{data}");
        Assert.Equal(FinalWeights($"a-{data}", 40), FinalWeights($"b-{data}", 40));

        // Byte for byte, checkpoints included: nothing in them depends on the clock.
        foreach (long step in new long[] { 20, 40 })
        {
            Assert.Equal(File.ReadAllBytes(Dir($"a-{data}").CheckpointPath(step)), File.ReadAllBytes(Dir($"b-{data}").CheckpointPath(step)));
            Assert.Equal(File.ReadAllBytes(Dir($"a-{data}").OptimizerStatePath(step)), File.ReadAllBytes(Dir($"b-{data}").OptimizerStatePath(step)));
        }
    }

    [Fact]
    public void AKilledRunResumesToTheSameFinalWeights()
    {
        var run = Run(Short());
        Train(run, "whole");

        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => Train(run, "killed", progress: p =>
        {
            if (p.Step == 50)
            {
                cancel.Cancel(); // dies between checkpoints 40 and 60
            }
        }, cancellation: cancel.Token));
        Assert.Equal([20L, 40L], Dir("killed").CompleteCheckpointSteps());

        var error = Assert.Throws<BeliefLensInputException>(() => Train(run, "killed"));
        Assert.Equal($"{Dir("killed").Path}: already holds a run; resume it or replace it.", error.Message); // no CLI flags in the library
        Train(run, "killed", ExistingRun.Resume);
        Assert.Equal(FinalWeights("whole", 60), FinalWeights("killed", 60));
        Assert.Equal(File.ReadAllBytes(Dir("whole").CheckpointPath(60)), File.ReadAllBytes(Dir("killed").CheckpointPath(60)));

        // metrics.jsonl: the lines logged after step 40 and before the cancel were dropped on resume and logged again.
        static IEnumerable<string> WithoutClock(RunDirectory dir) => dir.ReadMetrics().Select(m => RunJson.ToNode(m with { TokensPerS = 0 }).ToJsonString());
        Assert.Equal(WithoutClock(Dir("whole")), WithoutClock(Dir("killed")));
    }

    [Fact]
    public void ResumeWithDifferentOptionsAndCorruptCheckpointsAreRefused()
    {
        var run = Run(Short(20));
        Train(run, "strict");
        var changed = run with { Options = Short(20) with { LearningRate = 1e-4 } };
        var different = Assert.Throws<BeliefLensInputException>(() => Train(changed, "strict", ExistingRun.Resume)).Message;
        Assert.Contains("holds a different run (training.learning_rate is 0.003 there, 0.0001 here)", different);
        Assert.DoesNotContain("--", different);

        File.WriteAllText(Dir("strict").CheckpointPath(20), "not a pickle");
        var corrupt = Assert.Throws<BeliefLensInputException>(() => Train(run, "strict", ExistingRun.Resume));
        Assert.Contains("corrupt", corrupt.Message);
        Assert.Contains("checkpoint", Assert.Throws<BeliefLensInputException>(
            () => Checkpoints.LoadStateDict(Path.Combine(_root, "missing.pt"))).Message);

        Train(run, "strict", ExistingRun.Replace);
        Assert.Equal([20L], Dir("strict").CompleteCheckpointSteps());
    }

    [Fact]
    public void ADivergingRunStopsAndKeepsTheLastGoodCheckpoint()
    {
        var options = Short(200) with { LearningRate = 1e30, GradClip = 0, WarmupSteps = 0 };
        var run = Run(options);
        var error = Assert.Throws<TrainingDivergedException>(() => Train(run, "nan"));
        Assert.Contains("diverged", error.Message);
        Assert.Contains("training.learning_rate", error.Message);
        foreach (long step in Dir("nan").CompleteCheckpointSteps())
        {
            Assert.All(FinalWeights("nan", step), w => Assert.True(float.IsFinite(w)));
        }
    }

    [Fact]
    public void LogSpacedCheckpointStepsCoverEarlyTraining()
    {
        var options = new TrainingOptions(steps: 10_000, checkpointEvery: 0, logSpacedCheckpoints: 5);
        Assert.Equal([1L, 10L, 100L, 1000L, 10_000L], options.CheckpointSteps());
    }

    [Theory]
    [InlineData("{\"n_layers\": 2, \"d_modle\": 8}", "d_modle")]
    [InlineData("{\"d_model\": 10, \"n_heads\": 3}", "not divisible")]
    [InlineData("{\"act_fn\": \"tanh\"}", "act_fn")]
    [InlineData("{\"n_layers\": 0}", "n_layers")]
    [InlineData("{\"normalization_type\": \"RMS\"}", "normalization_type")]
    [InlineData("[1, 2]", "JSON object")]
    [InlineData("{not json", "not valid JSON")]
    public void BadModelConfigsGiveOneLineErrorsNamingTheField(string json, string expected)
    {
        var error = Assert.Throws<BeliefLensInputException>(() => TransformerConfig.FromJson(json, TransformerConfig.PaperMess3()));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void ConfigJsonRoundTripsAndUsesTransformerLensNames()
    {
        var config = new TransformerConfig(3, 24, 4, 5, 40, 7, 2, actFn: "gelu", layerNorm: false);
        string json = config.ToJson().ToJsonString();
        Assert.Contains("\"normalization_type\":null", json);
        Assert.Equal(config, TransformerConfig.FromJson(json));
    }

    [Fact]
    public void MoreContextThanTheModelAllowsIsRefused()
    {
        using var model = new HookedTransformer(Tiny);
        using var tokens = zeros([2, 5], dtype: int64);
        Assert.Contains("n_ctx", Assert.Throws<BeliefLensInputException>(() => model.forward(tokens)).Message);
        var wrongVocab = Run(Short(10), new TransformerConfig(1, 8, 1, 8, 8, 4, 5));
        Assert.StartsWith("model.d_vocab:", Assert.Throws<BeliefLensInputException>(() => Train(wrongVocab, "vocab")).Message);
        Assert.StartsWith("device: 'tpu'", Assert.Throws<BeliefLensInputException>(() => Trainer.ParseDevice("tpu")).Message);
    }
}
