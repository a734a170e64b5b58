using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch.Probing;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests;

/// <summary>Training and model records are valid by construction; weight decay follows the nanoGPT rule.</summary>
public sealed class OptionsAndDecayTests
{
    private static readonly TransformerConfig Tiny = new(nLayers: 2, dModel: 16, nHeads: 2, dHead: 6, dMlp: 32, nCtx: 6, dVocab: 3);

    [Fact]
    public void AWithExpressionCannotBuildInvalidTrainingOptions()
    {
        var options = new TrainingOptions(steps: 10);
        var steps = Assert.Throws<BeliefLensInputException>(() => options with { Steps = 0 });
        Assert.Equal("training.steps: 0 is invalid; must be at least 1.", steps.Message);
        Assert.StartsWith("training.batch_size:", Assert.Throws<BeliefLensInputException>(() => options with { BatchSize = 0 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("training.learning_rate:", Assert.Throws<BeliefLensInputException>(() => options with { LearningRate = double.NaN }).Message, StringComparison.Ordinal);
        Assert.StartsWith("training.optimizer: 'adam'", Assert.Throws<BeliefLensInputException>(() => options with { Optimizer = "adam" }).Message, StringComparison.Ordinal);
        Assert.StartsWith("training.beta2:", Assert.Throws<BeliefLensInputException>(() => options with { Beta2 = 1 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("training.weight_decay_applies_to:", Assert.Throws<BeliefLensInputException>(() => options with { WeightDecayAppliesTo = "vectors" }).Message, StringComparison.Ordinal);
        Assert.StartsWith("training.steps:", Assert.Throws<BeliefLensInputException>(() => new TrainingOptions(steps: -5)).Message, StringComparison.Ordinal);

        // Valid changes go through, and the original is untouched.
        var longer = options with { Steps = 20, WeightDecay = 0.1 };
        Assert.Equal(20, longer.Steps);
        Assert.Equal(10, options.Steps);
    }

    [Fact]
    public void AWithExpressionCannotBuildInvalidProbeOptions()
    {
        var options = new ProbeOptions(sites: ["blocks.0.hook_resid_post"]);
        Assert.Equal("probe.fit_fraction: 1 is invalid; must lie strictly between 0 and 1 (the paper fits on 0.2 of the sequences).",
            Assert.Throws<BeliefLensInputException>(() => options with { FitFraction = 1 }).Message);
        Assert.StartsWith("probe.max_sequences: 0 is invalid", Assert.Throws<BeliefLensInputException>(() => options with { MaxSequences = 0 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.chunk: 0 is invalid", Assert.Throws<BeliefLensInputException>(() => options with { Chunk = 0 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.distance_points: 1 is invalid", Assert.Throws<BeliefLensInputException>(() => options with { DistancePoints = 1 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.round_decimals: 16 is invalid", Assert.Throws<BeliefLensInputException>(() => options with { RoundDecimals = 16 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.sites: [] is invalid", Assert.Throws<BeliefLensInputException>(() => options with { Sites = [] }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.sites: ", Assert.Throws<BeliefLensInputException>(() => options with { Sites = ["a", "a"] }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.positions: -1 is invalid", Assert.Throws<BeliefLensInputException>(() => options with { Positions = [-1] }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.weighting: ", Assert.Throws<BeliefLensInputException>(() => options with { Weighting = (ProbeWeighting)7 }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.fit: ", Assert.Throws<BeliefLensInputException>(() => options with { Fit = null! }).Message, StringComparison.Ordinal);
        Assert.StartsWith("probe.fit_fraction:", Assert.Throws<BeliefLensInputException>(() => new ProbeOptions(fitFraction: 0)).Message, StringComparison.Ordinal);

        // Valid changes go through; the lists are the record's own copies, so changing the caller's list later changes nothing.
        var sites = new List<string> { "blocks.0.hook_resid_pre" };
        var changed = options with { Sites = sites, RoundDecimals = null, Chunk = 7 };
        sites.Add("blocks.0.hook_resid_pre");
        Assert.Equal(["blocks.0.hook_resid_pre"], changed.Sites);
        Assert.Equal(7, changed.Chunk);
        Assert.Equal(["blocks.0.hook_resid_post"], options.Sites);
    }

    [Fact]
    public void ModelConfigErrorsNameTheJsonPath()
    {
        Assert.StartsWith("model.d_model: 0 is invalid", Assert.Throws<BeliefLensInputException>(() => new TransformerConfig(1, 0, 1, 1, 1, 1, 1)).Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<BeliefLensInputException>(() => TransformerConfig.FromJson("{\"d_modle\": 8}", TransformerConfig.PaperMess3(), source: "exp.json"));
        Assert.StartsWith("model.d_modle: unknown field 'd_modle' in exp.json;", unknown.Message, StringComparison.Ordinal);
        Assert.StartsWith("model.n_layers: must be a whole number", Assert.Throws<BeliefLensInputException>(
            () => TransformerConfig.FromJson("{\"n_layers\": \"four\"}", TransformerConfig.PaperMess3())).Message, StringComparison.Ordinal);
        Assert.DoesNotContain("--", unknown.Message, StringComparison.Ordinal);
    }

    /// <summary>Every parameter set to a distinct nonzero value, so decay of any of them would show.</summary>
    private static HookedTransformer ModelWithNonzeroWeights()
    {
        var model = new HookedTransformer(Tiny, seed: 1);
        var rng = new Rng(9);
        var values = Enumerable.Range(0, (int)model.ParameterCount).Select(_ => (float)(0.5 + rng.NextDouble())).ToArray();
        using (no_grad())
        {
            using var source = tensor(values);
            model.FlatParameters.copy_(source);
        }

        return model;
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void WeightDecayShrinksExactlyTheWeightMatrices(string optimizerName)
    {
        using var model = ModelWithNonzeroWeights();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.data<float>().ToArray());
        const double lr = 0.01, wd = 0.1;
        var options = new TrainingOptions(optimizer: optimizerName, weightDecay: wd, gradClip: 0, momentum: 0);
        Assert.Equal("matrices", options.WeightDecayAppliesTo);
        using var optimizer = new FlatOptimizer(model, options);
        model.ZeroGrad(); // decay alone: the gradients are zero
        optimizer.Step(lr);

        int decayed = 0;
        foreach (var (name, parameter) in model.named_parameters())
        {
            float[] after = parameter.data<float>().ToArray();
            bool matrix = name.Split('.')[^1].StartsWith("W_", StringComparison.Ordinal);
            Assert.Equal(matrix, parameter.dim() >= 2 && !name.Contains(".b_", StringComparison.Ordinal));
            for (int i = 0; i < after.Length; i++)
            {
                // AdamW: w·(1 − lr·wd) in float32, bit for bit as torch.optim.AdamW computes it. SGD: w − lr·(wd·w),
                // to one float32 rounding (the kernel may fuse the multiply-add).
                float w = before[name][i];
                if (!matrix)
                {
                    Assert.True(w == after[i], $"{name}[{i}] is not a matrix but changed from {w} to {after[i]}");
                }
                else if (optimizerName == "adamw")
                {
                    float expected = w * (float)(1 - (lr * wd));
                    Assert.True(expected == after[i], $"{name}[{i}]: expected {expected}, got {after[i]}");
                }
                else
                {
                    double expected = w - (lr * wd * w);
                    Assert.True(Math.Abs(after[i] - expected) <= 1.2e-7 * Math.Abs(expected), $"{name}[{i}]: expected {expected}, got {after[i]}");
                }
            }

            decayed += matrix ? 1 : 0;
        }

        Assert.Equal(2 + (2 * 6) + 1, decayed); // W_E, W_pos, per block W_Q/K/V/O/in/out, W_U
    }

    [Fact]
    public void WeightDecayOnAllParametersIsTheTorchDefault()
    {
        using var model = ModelWithNonzeroWeights();
        using var before = model.FlatParameters.clone();
        using var optimizer = new FlatOptimizer(model, new TrainingOptions(weightDecay: 0.1, gradClip: 0, weightDecayAppliesTo: "all"));
        model.ZeroGrad();
        optimizer.Step(0.01);
        using var expected = before * (1 - (0.01 * 0.1));
        Assert.True(model.FlatParameters.eq(expected).all().item<bool>());
    }

    [Fact]
    public void TheRunConfigRecordsWhichParametersAreDecayed()
    {
        var run = new TrainingRun(BuiltinProcesses.Mess3(), "mess3", new Dictionary<string, double>(), Tiny, new TrainingOptions(weightDecay: 0.01));
        var training = BeliefLens.Runs.RunJson.ToNode(Trainer.ResolvedConfig(run))["training"]!;
        Assert.Equal("matrices", training["weight_decay_applies_to"]!.GetValue<string>());
        Assert.Equal(0.01, training["weight_decay"]!.GetValue<double>());
    }
}
