using BeliefLens.Core;
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

    private TrainingRun Run(string name, TrainingOptions options, TransformerConfig? model = null) =>
        new(BuiltinProcesses.Mess3(), "mess3", new Dictionary<string, double>(), model ?? Tiny, options, Path.Combine(_root, name));

    private static TrainingOptions Short(long steps = 60, string data = "sampled", string optimizer = "adamw") =>
        new(steps: steps, batchSize: 16, learningRate: 3e-3, optimizer: optimizer, warmupSteps: 5, seed: 11, data: data,
            evalEvery: 1000, checkpointEvery: 20, lossReadEvery: 10);

    private static float[] FinalWeights(string runDir, long step)
    {
        var state = Checkpoints.LoadStateDict(Checkpoints.ModelPath(runDir, step));
        return state.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Where(kv => kv.Value.dtype == float32)
            .SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();
    }

    [Fact]
    public void ATinyModelLearnsTowardTheFloor()
    {
        var options = new TrainingOptions(steps: 400, batchSize: 64, learningRate: 1e-2, warmupSteps: 20, seed: 3, evalEvery: 400, checkpointEvery: 0);
        var run = Run("learn", options);
        using var validation = ValidationSet.Create(run.Process, Tiny.NCtx, 200_000, 1, 0, CPU);
        using (var untrained = new HookedTransformer(Tiny, seed: 3))
        {
            double before = validation.Evaluate(untrained).Average();
            Assert.True(before > validation.FloorMean + 0.2, $"untrained loss {before} should be near ln 3");
        }

        var summary = Trainer.Run(run);
        Assert.True(summary.ExactValidation);
        Assert.Equal(validation.FloorMean, summary.LossFloor, 9);
        Assert.True(summary.ValidationLoss >= summary.LossFloor - 1e-6);
        Assert.True(summary.ValidationLoss < summary.LossFloor * 1.03, $"validation {summary.ValidationLoss} vs floor {summary.LossFloor}");
        Assert.True(File.Exists(Path.Combine(run.RunDirectory, "summary.json")));
        Assert.True(File.Exists(Checkpoints.ModelPath(run.RunDirectory, 400)));
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(run.RunDirectory, "summary.json")))!;
        foreach (string key in new[] { "process", "steps", "tokens", "wall_seconds", "validation_loss", "loss_floor" })
        {
            Assert.NotNull(json[key]);
        }
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
        var run = Run("cadence", options);
        var summary = Trainer.Run(run);
        var lines = File.ReadAllLines(Path.Combine(run.RunDirectory, "metrics.jsonl"))
            .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).Where(l => l["val_loss_mean"] is not null).ToList();
        Assert.Equal([10L, 20, 30, 40], lines.Select(l => l["step"]!.GetValue<long>()));
        Assert.All(lines.Take(3), l => Assert.False(l["val_exact"]!.GetValue<bool>()));
        Assert.All(lines.Take(3), l => Assert.Equal(30, l["val_sequences"]!.GetValue<long>()));
        Assert.True(lines[3]["val_exact"]!.GetValue<bool>());
        Assert.Equal(81, lines[3]["val_sequences"]!.GetValue<long>()); // every Mess3 sequence of length 4
        Assert.True(summary.ExactValidation);

        using var validation = ValidationSet.Create(run.Process, Tiny.NCtx, options.ExactValidationLimit, 30, options.Seed, CPU);
        using var model = Checkpoints.LoadModel(Checkpoints.ModelPath(run.RunDirectory, 40), Tiny);
        Assert.Equal(validation.Evaluate(model).Average(), summary.ValidationLoss, 1e-12);

        // Checkpoint steps are evaluated too, so a log-x loss curve has early points.
        var logged = Run("cadence-log", options with { EvalEvery = 20, LogSpacedCheckpoints = 4 });
        Trainer.Run(logged);
        var steps = File.ReadAllLines(Path.Combine(logged.RunDirectory, "metrics.jsonl"))
            .Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).Where(l => l["val_loss_mean"] is not null).Select(l => l["step"]!.GetValue<long>());
        Assert.Equal(logged.Options.CheckpointSteps().Union([20L, 40L]).Order(), steps);
    }

    [Theory]
    [InlineData("sampled", "adamw")]
    [InlineData("exact", "sgd")]
    public void TheSameSeedGivesIdenticalWeights(string data, string optimizer)
    {
        var a = Run($"a-{data}", Short(40, data, optimizer));
        var b = Run($"b-{data}", Short(40, data, optimizer));
        Trainer.Run(a);
        Trainer.Run(b);
        Assert.Equal(FinalWeights(a.RunDirectory, 40), FinalWeights(b.RunDirectory, 40));
    }

    [Fact]
    public void AKilledRunResumesToTheSameFinalWeights()
    {
        var whole = Run("whole", Short());
        Trainer.Run(whole);

        var killed = Run("killed", Short());
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => Trainer.Run(killed, progress: p =>
        {
            if (p.Step == 50)
            {
                cancel.Cancel(); // dies between checkpoints 40 and 60
            }
        }, cancellation: cancel.Token));
        Assert.Equal([20L, 40L], Checkpoints.CompleteSteps(killed.RunDirectory));

        var error = Assert.Throws<BeliefLensInputException>(() => Trainer.Run(killed));
        Assert.Contains("--resume", error.Message);
        Trainer.Run(killed, resume: true);
        Assert.Equal(FinalWeights(whole.RunDirectory, 60), FinalWeights(killed.RunDirectory, 60));
        int lines = File.ReadAllLines(Path.Combine(killed.RunDirectory, "metrics.jsonl")).Length;
        Assert.Equal(File.ReadAllLines(Path.Combine(whole.RunDirectory, "metrics.jsonl")).Length, lines);
    }

    [Fact]
    public void ResumeWithDifferentOptionsAndCorruptCheckpointsAreRefused()
    {
        var run = Run("strict", Short(20));
        Trainer.Run(run);
        var changed = run with { Options = Short(20) with { LearningRate = 1e-4 } };
        Assert.Contains("differ", Assert.Throws<BeliefLensInputException>(() => Trainer.Run(changed, resume: true)).Message);

        File.WriteAllText(Checkpoints.ModelPath(run.RunDirectory, 20), "not a pickle");
        var corrupt = Assert.Throws<BeliefLensInputException>(() => Trainer.Run(run, resume: true));
        Assert.Contains("corrupt", corrupt.Message);
        Assert.Contains("checkpoint", Assert.Throws<BeliefLensInputException>(
            () => Checkpoints.LoadStateDict(Path.Combine(_root, "missing.pt"))).Message);

        Trainer.Run(run, force: true);
        Assert.Equal([20L], Checkpoints.CompleteSteps(run.RunDirectory));
    }

    [Fact]
    public void ADivergingRunStopsAndKeepsTheLastGoodCheckpoint()
    {
        var options = Short(200) with { LearningRate = 1e30, GradClip = 0, WarmupSteps = 0 };
        var run = Run("nan", options);
        var error = Assert.Throws<TrainingDivergedException>(() => Trainer.Run(run));
        Assert.Contains("diverged", error.Message);
        foreach (long step in Checkpoints.CompleteSteps(run.RunDirectory))
        {
            Assert.All(FinalWeights(run.RunDirectory, step), w => Assert.True(float.IsFinite(w)));
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
        var wrongVocab = Run("vocab", Short(10), new TransformerConfig(1, 8, 1, 8, 8, 4, 5));
        Assert.Contains("d_vocab", Assert.Throws<BeliefLensInputException>(() => Trainer.Run(wrongVocab)).Message);
    }
}
