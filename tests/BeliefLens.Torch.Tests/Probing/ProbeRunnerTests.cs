using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch.Probing;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests.Probing;

public sealed class ProbeRunnerTests
{
    private static readonly TransformerConfig Tiny = new(nLayers: 2, dModel: 16, nHeads: 2, dHead: 8, dMlp: 32, nCtx: 4, dVocab: 3);

    [Fact]
    public void StateDictRoundTripThroughPtFileGivesIdenticalLogits()
    {
        string path = Path.Combine(Path.GetTempPath(), $"belieflens-roundtrip-{Guid.NewGuid():N}.pt");
        try
        {
            using var model = new HookedTransformer(Tiny, CPU, seed: 7);
            var state = model.StateDictTransformerLens();
            Checkpoints.SaveStateDict(path, state);
            using var loaded = Checkpoints.LoadModel(path, Tiny, CPU);
            using var other = new HookedTransformer(Tiny, CPU, seed: 8);
            using var tokens = tensor(new long[] { 0, 1, 2, 1, 2, 2, 0, 0 }, [2, 4]);
            using var expected = model.forward(tokens);
            using var actual = loaded.forward(tokens);
            using var different = other.forward(tokens);
            Assert.True(expected.allclose(actual, 0, 0));
            Assert.False(expected.allclose(different)); // the comparison can fail
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MismatchedStateDictNamesTheFirstMismatch()
    {
        string path = Path.Combine(Path.GetTempPath(), $"belieflens-mismatch-{Guid.NewGuid():N}.pt");
        try
        {
            using var model = new HookedTransformer(Tiny, CPU, seed: 7);
            Checkpoints.SaveStateDict(path, model.StateDictTransformerLens());
            var wider = new TransformerConfig(2, 16, 2, 8, 64, 4, 3);
            var ex = Assert.Throws<BeliefLensInputException>(() => Checkpoints.LoadModel(path, wider, CPU).Dispose());
            Assert.Contains("blocks.0.mlp.W_in", ex.Message);
            var deeper = new TransformerConfig(3, 16, 2, 8, 32, 4, 3);
            ex = Assert.Throws<BeliefLensInputException>(() => Checkpoints.LoadModel(path, deeper, CPU).Dispose());
            Assert.Contains("blocks.2.", ex.Message);
            File.WriteAllText(path, "not a pickle");
            ex = Assert.Throws<BeliefLensInputException>(() => Checkpoints.LoadModel(path, Tiny, CPU).Dispose());
            Assert.Contains("corrupt", ex.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void UnknownSiteListsValidOnesAndVocabularyMustMatch()
    {
        using var model = new HookedTransformer(Tiny, CPU, seed: 1);
        var ex = Assert.Throws<BeliefLensInputException>(() => ProbeRunner.Run(model, BuiltinProcesses.Mess3(), new ProbeOptions(["blocks.9.hook_resid_post"])));
        Assert.Contains("blocks.9.hook_resid_post", ex.Message);
        Assert.Contains("blocks.1.hook_resid_post", ex.Message);
        Assert.Contains("ln_final.hook_normalized", ex.Message);
        var binary = BuiltinProcesses.Create("rrxor", new Dictionary<string, double>());
        ex = Assert.Throws<BeliefLensInputException>(() => ProbeRunner.Run(model, binary, new ProbeOptions()));
        Assert.Contains("d_vocab is 3", ex.Message);
    }

    [Fact]
    public void ExhaustiveInputsCarryBeliefsNextTokenAndPrefixProbabilities()
    {
        var process = BuiltinProcesses.Mess3();
        var inputs = ProbeInputs.Exhaustive(process, 3);
        Assert.Equal(27, inputs.Sequences);
        // Each sequence's last-position probability sums to 1 over sequences; beliefs and next-token rows are distributions.
        double total = Enumerable.Range(0, inputs.Sequences).Sum(q => inputs.PrefixProbabilities[q * 3 + 2]);
        Assert.Equal(1.0, total, 1e-12);
        for (int r = 0; r < inputs.Rows; r++)
        {
            Assert.Equal(1.0, inputs.Beliefs.Row(r).ToArray().Sum(), 1e-12);
            Assert.Equal(1.0, inputs.NextToken.Row(r).ToArray().Sum(), 1e-12);
        }

        // Row (q, j) holds the belief after tokens 0..j: recompute one by hand with η' ∝ ηT[x].
        int row = 5 * 3 + 1;
        var belief = (double[])process.InitialBelief.Clone();
        foreach (int x in inputs.Tokens.AsSpan(5 * 3, 2))
        {
            var next = new double[3];
            for (int b = 0; b < 3; b++)
            {
                for (int a = 0; a < 3; a++)
                {
                    next[b] += belief[a] * process.T(x, a, b);
                }
            }

            belief = next.Select(v => v / next.Sum()).ToArray();
        }

        Assert.Equal(belief, inputs.Beliefs.Row(row).ToArray(), (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void WeightingSemanticsOnARealModel()
    {
        using var model = new HookedTransformer(Tiny with { }, CPU, seed: 3);
        var process = BuiltinProcesses.Mess3();
        var paper = ProbeRunner.Run(model, process, new ProbeOptions(weighting: ProbeWeighting.Paper, controls: false)).Sites[0];
        var prob = ProbeRunner.Run(model, process, new ProbeOptions(weighting: ProbeWeighting.Prob, controls: false)).Sites[0];
        // Paper: every sequence × position once (81 × 4). Prob: each distinct prefix once (3+9+27+81), weighted by
        // P(prefix), so the weights at each length sum to 1: total = n_ctx, never count × probability.
        Assert.Equal(81 * 4, paper.Rows);
        Assert.Equal(81 * 4, paper.InSample.WeightTotal, 1e-9);
        Assert.Equal(3 + 9 + 27 + 81, prob.Rows);
        Assert.Equal(4.0, prob.InSample.WeightTotal, 1e-9);
        Assert.NotEqual(paper.InSample.Mse, prob.InSample.Mse);
    }

    [Fact]
    public void HeldOutSplitKeepsWholeSequencesTogether()
    {
        var inputs = ProbeInputs.Exhaustive(BuiltinProcesses.Mess3(), 4);
        int rows = inputs.Rows;
        var dataset = new ActivationDataset(FeatureMatrix.FromDouble(new double[rows], rows, 1), inputs.Beliefs, inputs.SequenceIds(), inputs.Positions(),
            inputs.PrefixIds, inputs.PrefixProbabilities);
        var split = ProbeSplits.BySequence(dataset, dataset.Sample(ProbeWeighting.Paper), 0.2, seed: 5);
        var fitSequences = split.FitRows.Select(r => dataset.SequenceIds[r]).ToHashSet();
        var testSequences = split.TestRows.Select(r => dataset.SequenceIds[r]).ToHashSet();
        Assert.Empty(fitSequences.Intersect(testSequences));
        Assert.Equal(16, fitSequences.Count); // round(0.2 × 81)
        Assert.Equal(16 * 4, split.FitRows.Length);
        Assert.Equal(rows, split.FitRows.Length + split.TestRows.Length);
    }

    [Fact]
    public void ActivationsAreStoredOncePerPrefixAndEqualEveryRowsForwardPass()
    {
        using var model = new HookedTransformer(Tiny, CPU, seed: 5);
        var inputs = ProbeInputs.Exhaustive(BuiltinProcesses.Mess3(), 4);
        string[] sites = ["blocks.0.hook_resid_pre", "blocks.1.hook_resid_post"];
        var positions = new[] { 0, 1, 2, 3 };
        var features = ProbeRunner.Activations(model, inputs, sites, positions, chunk: 7); // chunks that split nothing evenly

        using var tokens = tensor(inputs.Tokens.Select(t => (long)t).ToArray(), [inputs.Sequences, 4]);
        using var cache = model.CacheActivations(tokens, sites);
        foreach (string site in sites)
        {
            Assert.Equal(81 * 4, features[site].Rows);
            Assert.Equal(3 + 9 + 27 + 81, features[site].StoredRows); // one stored row per distinct prefix
            var direct = cache[site].reshape(81 * 4, 16).data<float>().ToArray();
            for (int r = 0; r < 81 * 4; r++)
            {
                for (int c = 0; c < 16; c++)
                {
                    Assert.Equal(direct[r * 16 + c], (float)features[site][r, c]);
                }
            }
        }

        // Fewer positions: rows are (sequence, kept position); prefixes are those of the kept rows.
        var last = ProbeRunner.Activations(model, inputs, ["blocks.1.hook_resid_post"], [3])["blocks.1.hook_resid_post"];
        Assert.Equal(81, last.Rows);
        Assert.Equal(81, last.StoredRows);
    }

    [Fact]
    public void ReportArraysArePerDistinctPrefixAndExpandToEveryRow()
    {
        using var model = new HookedTransformer(Tiny, CPU, seed: 3);
        var inputs = ProbeInputs.Exhaustive(BuiltinProcesses.Mess3(), 4);
        var report = ProbeRunner.Run(model, BuiltinProcesses.Mess3(), new ProbeOptions(controls: false), inputs: inputs);
        var site = report.Sites[0];
        Assert.Equal(120, report.Prefixes.Count);
        Assert.Equal(120, site.Predicted.Rows);
        Assert.Equal(120, report.TrueBeliefs.Rows);
        Assert.Equal(81 * 4, report.Prefixes.Expand(site.Predicted).Rows);
        for (int p = 0; p < report.Prefixes.Count; p++)
        {
            int row = report.DistinctInputRows[p];
            Assert.Equal(inputs.Beliefs.Row(row).ToArray(), report.TrueBeliefs.Row(p).ToArray());
            Assert.Equal(inputs.PrefixProbabilities[row], report.PrefixProbabilities[p]);
        }

        // The in-sample fit's predictions, expanded, score exactly the reported in-sample MSE.
        var metrics = RegressionMetrics.Compute(report.Prefixes.Expand(site.Predicted), inputs.Beliefs);
        Assert.Equal(site.InSample.Mse, metrics.Mse);
    }

    [Fact]
    public void ConcatSiteStacksTheChosenSites()
    {
        using var model = new HookedTransformer(Tiny, CPU, seed: 3);
        var options = new ProbeOptions(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"], concat: true, controls: false);
        var report = ProbeRunner.Run(model, BuiltinProcesses.Mess3(), options);
        Assert.Equal(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "concat"], report.Sites.Select(s => s.Site));
        Assert.Equal(32, report.Sites[2].Dims);
        // Nested least squares: the concatenation can never fit worse than either part (in-sample).
        Assert.True(report.Sites[2].InSample.Mse <= report.Sites.Take(2).Min(s => s.InSample.Mse) + 1e-12);
    }

    [PaperModelsFact]
    public void FinalMess3CheckpointForwardPassReachesTheLossFloor()
    {
        string dir = Path.Combine(PaperModels.Directory!, "mess3");
        var config = TransformerConfig.FromTrainConfigFile(Path.Combine(dir, "train_config.json"));
        using var model = Checkpoints.LoadModel(Path.Combine(dir, "629209600.pt"), config, CPU);
        // Exact probability-weighted cross-entropy over all 3^10 inputs, against the floor Σ P(prefix) H(X_next | prefix).
        var inputs = ProbeInputs.Exhaustive(BuiltinProcesses.Mess3(), config.NCtx);
        using var tokens = tensor(inputs.Tokens.Select(t => (long)t).ToArray(), [inputs.Sequences, config.NCtx]);
        using var logits = model.forward(tokens);
        using var logq = logits.log_softmax(-1).to(float64).reshape(inputs.Rows, config.DVocab);
        var logProbabilities = logq.data<double>().ToArray();
        double loss = 0, floor = 0;
        for (int r = 0; r < inputs.Rows; r++)
        {
            double weight = inputs.PrefixProbabilities[(r / config.NCtx * config.NCtx) + config.NCtx - 1]; // P(whole sequence)
            for (int x = 0; x < config.DVocab; x++)
            {
                double p = inputs.NextToken[r, x];
                loss -= weight * p * logProbabilities[r * config.DVocab + x];
                floor -= p > 0 ? weight * p * Math.Log(p) : 0;
            }
        }

        (loss, floor) = (loss / config.NCtx, floor / config.NCtx);
        Assert.Equal(0.8025, floor, 4); // DEVELOPERS.md: the mean floor for Mess3 at n_ctx 10
        Assert.InRange(loss / floor, 1.0 - 1e-9, 1.003);
    }

    [PaperModelsFact]
    public void FinalMess3CheckpointMatchesThePublishedProbeMse()
    {
        string dir = Path.Combine(PaperModels.Directory!, "mess3");
        var config = TransformerConfig.FromTrainConfigFile(Path.Combine(dir, "train_config.json"));
        using var model = Checkpoints.LoadModel(Path.Combine(dir, "629209600.pt"), config, CPU);
        var site = ProbeRunner.Run(model, BuiltinProcesses.Mess3(), ProbeOptions.Paper() with { Controls = false }).Sites[0];
        Assert.Equal("blocks.3.hook_resid_post", site.Site);
        Assert.Equal(59049 * 10, site.Rows);
        Assert.InRange(site.InSample.Mse / 0.00038635, 0.97, 1.03);
        Assert.InRange(site.Shuffled.Mse / 0.111, 0.95, 1.05);
    }
}
