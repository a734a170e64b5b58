using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch.Interventions;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests.Interventions;

/// <summary>
/// Belief steering on a tiny model (2 layers, d_model 16, n_ctx 4) whose weights are scaled up so that its predictions
/// differ between prefixes: the edit's algebra (the probe reads the target; the orthogonal control leaves it alone)
/// and the full patch before the unembedding, which must reproduce the model's output on B exactly.
/// </summary>
public sealed class BeliefSteeringTests
{
    private static readonly TransformerConfig Tiny = new(nLayers: 2, dModel: 16, nHeads: 2, dHead: 8, dMlp: 32, nCtx: 4, dVocab: 3);

    private static HookedTransformer Model()
    {
        var model = new HookedTransformer(Tiny, seed: 5);
        using (no_grad())
        {
            model.FlatParameters.mul_(4); // an untrained model at the default init predicts nearly the same for every prefix
        }

        return model;
    }

    [Fact]
    public void SteeringMakesTheProbeReadTheTargetAndTheOrthogonalControlChangesNothing()
    {
        using var model = Model();
        var process = BuiltinProcesses.Mess3();
        var sites = new[] { "blocks.0.hook_resid_post", "ln_final.hook_normalized" };
        var probes = BeliefSteering.FitProbes(model, process, sites);
        var pairs = PrefixPairs.BeliefPairs(process, 40, Tiny.NCtx, seed: 3);
        foreach (var probe in probes)
        {
            Assert.Equal(2, probe.Subspace.Rank); // beliefs sum to 1: the probe's map has rank S − 1
            var result = BeliefSteering.Steer(model, process, probe, pairs, [], seed: 1);
            Assert.InRange(result.ProbeReadingErrorMax, 0, 1e-9);
            Assert.InRange(result.ProbeReadingErrorOrthogonalMax, 0, 1e-9);
            Assert.Equal(40, result.Pairs);
        }

        // The same algebra by hand on one activation: the edit lies in the subspace and moves the reading to the target.
        var subspace = probes[0].Subspace;
        var a = BeliefSteering.LastActivations(model, probes[0].Site, [pairs[0].TokensA])[0];
        var edit = subspace.EditTowards(a, pairs[0].BeliefB);
        var projected = subspace.Project(edit);
        Assert.All(edit.Zip(projected), e => Assert.Equal(e.First, e.Second, 12));
        var reading = subspace.Read(a.Zip(edit, (x, d) => x + d).ToArray());
        Assert.All(reading.Zip(pairs[0].BeliefB), r => Assert.Equal(r.Second, r.First, 9));
        var orthogonal = subspace.RandomDirection(new Rng(9), 2.5, orthogonal: true);
        Assert.Equal(2.5, BeliefSubspace.Norm(orthogonal), 12);
        Assert.All(subspace.Project(orthogonal), p => Assert.Equal(0, p, 12));
    }

    [Fact]
    public void FullPatchBeforeTheUnembeddingReproducesTheModelOnB()
    {
        using var model = Model();
        var process = BuiltinProcesses.Mess3();
        const string site = "ln_final.hook_normalized"; // the last site: only the unembedding follows
        var probe = BeliefSteering.FitProbes(model, process, [site])[0];
        var pairs = PrefixPairs.BeliefPairs(process, 40, Tiny.NCtx, seed: 4);
        var result = BeliefSteering.Steer(model, process, probe, pairs, [], seed: 2);

        Assert.True(result.PairsUsed > 20, $"only {result.PairsUsed} pairs with a gap");
        Assert.Equal(1.0, result.GapClosedFullPatchTowardModelB, 6);

        // Independently: the patched output is the model's output on B, so KL after the patch is KL(exact B ‖ model on B).
        double expected = 0;
        int used = 0;
        foreach (var pair in pairs)
        {
            int n = pair.TokensA.Length;
            var onA = BeliefSteering.LastLogProbabilities(model, [pair.TokensA], site, null, n - 1, n - 1)[0];
            var onB = BeliefSteering.LastLogProbabilities(model, [pair.TokensB], site, null, n - 1, n - 1)[0];
            var activationB = BeliefSteering.LastActivations(model, site, [pair.TokensB]);
            var patched = BeliefSteering.LastLogProbabilities(model, [pair.TokensA], site, activationB, n - 1, n - 1)[0];
            Assert.All(onB.Zip(patched), x => Assert.Equal(x.First, x.Second, 5));
            double before = Metrics.KlDivergence(pair.NextB, onA);
            if (before >= SiteSteering.MinKlBefore)
            {
                expected += 1 - (Metrics.KlDivergence(pair.NextB, onB) / before);
                used++;
            }
        }

        Assert.Equal(result.PairsUsed, used);
        Assert.Equal(expected / used, result.GapClosedFullPatch, 4);
    }

    [Fact]
    public void KernelPairsShareTheNextTokenDistributionOnly()
    {
        var rrxor = BuiltinProcesses.Rrxor();
        var pairs = PrefixPairs.KernelPairs(rrxor, 20, 5, seed: 1);
        Assert.NotEmpty(pairs);
        foreach (var pair in pairs)
        {
            Assert.All(pair.NextA.Zip(pair.NextB), x => Assert.Equal(x.First, x.Second, 9));
            var twoA = PrefixPairs.TwoStep(rrxor, pair.BeliefA);
            var twoB = PrefixPairs.TwoStep(rrxor, pair.BeliefB);
            Assert.True(twoA.Zip(twoB, (x, y) => Math.Abs(x - y)).Sum() >= PrefixPairs.MinTwoStepDifference);
            Assert.Equal(1, twoA.Sum(), 12);
        }

        Assert.Empty(PrefixPairs.KernelPairs(BuiltinProcesses.Mess3(), 20, 5, seed: 1)); // Mess3's emission map is injective
    }

    [Fact]
    public void NoPairsIsRefused()
    {
        using var model = Model();
        var probe = BeliefSteering.FitProbes(model, BuiltinProcesses.Mess3(), ["ln_final.hook_normalized"])[0];
        Assert.Throws<BeliefLensInputException>(() => BeliefSteering.Steer(model, BuiltinProcesses.Mess3(), probe, [], [], 0));
    }
}
