using BeliefLens.Core;
using static BeliefLens.Core.Tests.PublishedValuesTests;

namespace BeliefLens.Core.Tests;

public sealed class ProcessBuilderTests
{
    [Fact]
    public void MixtureOfTwoDeterministicProcesses()
    {
        // "always 0" with weight 0.3 and "always 1" with weight 0.7: the first token reveals the component.
        var mixture = ProcessBuilders.Mixture([(BuiltinProcesses.Coin(1), 3), (BuiltinProcesses.Coin(0), 7)]);
        Assert.Equal([0.3, 0.7], mixture.InitialBelief);
        var msp = MixedStatePresentation.Build(mixture, 10);
        Assert.True(msp.IsComplete);
        Assert.Equal(3, msp.StateCount);
        Assert.Equal(2, msp.RecurrentCount);
        double h = -((0.3 * Math.Log(0.3)) + (0.7 * Math.Log(0.7)));
        Assert.Equal(h, msp.MyopicEntropies[0], 14);
        Assert.Equal(0, msp.MyopicEntropies[1], 14);
        Assert.Equal(0, msp.ExactEntropyRate!.Value, 14);
        Assert.Equal(h, msp.StatisticalComplexity!.Value, 12);
        Assert.Equal(h, msp.ExcessEntropy, 12);
    }

    [Fact]
    public void MixtureIsBlockDiagonalWithWeightedInitialState()
    {
        var even = BuiltinProcesses.Even();
        var z1r = BuiltinProcesses.Z1r();
        var mixture = ProcessBuilders.Mixture([(even, 0.25), (z1r, 0.75)]);
        Assert.Equal(5, mixture.StateCount);
        double[] expected = [0.25 * 2 / 3, 0.25 / 3, 0.25, 0.25, 0.25];
        for (int j = 0; j < 5; j++)
        {
            Assert.Equal(expected[j], mixture.InitialBelief[j], 14);
        }

        Assert.Equal(0, mixture.T(1, 0, 3));
        Assert.Equal(z1r.T(0, 2, 0), mixture.T(0, 4, 2));

        // P(w) is the weighted sum of the components' probabilities.
        var tree = BeliefTree.Enumerate(mixture, 4);
        var evenTree = BeliefTree.Enumerate(even, 4);
        var z1rTree = BeliefTree.Enumerate(z1r, 4);
        int[] word = [0, 1, 1, 0];
        double p = Math.Exp(tree.LogProbability[FindPrefix(tree, word)]);
        double expectedP = (0.25 * Math.Exp(evenTree.LogProbability[FindPrefix(evenTree, word)]))
            + (0.75 * Math.Exp(z1rTree.LogProbability[FindPrefix(z1rTree, word)]));
        Assert.Equal(expectedP, p, 14);
    }

    [Fact]
    public void GhmmMixtureOfACopyBehavesLikeTheOriginal()
    {
        var tom = BuiltinProcesses.TomQuantum();
        var mixture = ProcessBuilders.Mixture([(tom, 1), (tom, 1)]);
        Assert.Equal(ProcessKind.Ghmm, mixture.Kind);
        var a = BeliefTree.Enumerate(tom, 4).MyopicEntropies();
        var b = BeliefTree.Enumerate(mixture, 4).MyopicEntropies();
        for (int l = 0; l < a.Length; l++)
        {
            Assert.Equal(a[l], b[l], 12);
        }
    }

    [Fact]
    public void MixtureRejectsMismatchedVocabulariesAndBadWeights()
    {
        var vocab = Assert.Throws<BeliefLensInputException>(() => ProcessBuilders.Mixture([(BuiltinProcesses.Coin(), 1), (BuiltinProcesses.Mess3(), 1)]));
        Assert.StartsWith("mixture:", vocab.Message);
        var weight = Assert.Throws<BeliefLensInputException>(() => ProcessBuilders.Mixture([(BuiltinProcesses.Coin(), -1)]));
        Assert.StartsWith("mixture: weight 0", weight.Message);
    }

    [Fact]
    public void BosStateEmitsBosOnceThenFollowsTheProcess()
    {
        var z1r = BuiltinProcesses.Z1r();
        var bos = ProcessBuilders.WithBos(z1r);
        Assert.Equal(3, bos.VocabSize);
        Assert.Equal(4, bos.StateCount);
        Assert.Equal("BOS", bos.TokenNames[2]);
        var tree = BeliefTree.Enumerate(bos, 3);
        Assert.Equal(1, tree.DepthStart[2] - tree.DepthStart[1]); // only BOS at position 0
        AssertBelief(tree, [2], [1.0 / 3, 1.0 / 3, 1.0 / 3, 0]);
        AssertBelief(tree, [2, 1, 0], [0.5, 0.5, 0, 0]);
        Assert.Equal(0.5, Math.Exp(tree.LogProbability[FindPrefix(tree, [2, 0])]), 14);
        for (int k = tree.DepthStart[2]; k < tree.Count; k++)
        {
            Assert.DoesNotContain(2, tree.Prefix(k)[1..]);
        }
    }

    [Fact]
    public void GhmmWithBosKeepsBeliefNormalisation()
    {
        var process = ProcessBuilders.WithBos(BuiltinProcesses.PostQuantum());
        var tree = BeliefTree.Enumerate(process, 5);
        for (int k = 0; k < tree.Count; k++)
        {
            double dot = 0;
            for (int j = 0; j < process.StateCount; j++)
            {
                dot += tree.Belief(k)[j] * process.Tau[j];
            }

            Assert.Equal(1, dot, 10);
        }
    }

    [Fact]
    public void SamplerWithBosStartsEverySequenceWithBos()
    {
        var sampler = new ProcessSampler(ProcessBuilders.WithBos(BuiltinProcesses.Mess3()));
        var data = new int[64 * 12];
        sampler.Sample(new Rng(7), data, 64, 12);
        for (int b = 0; b < 64; b++)
        {
            Assert.Equal(3, data[b * 12]);
            for (int t = 1; t < 12; t++)
            {
                Assert.InRange(data[(b * 12) + t], 0, 2);
            }
        }

        var again = new int[64 * 12];
        sampler.Sample(new Rng(7), again, 64, 12);
        Assert.Equal(data, again);
    }

    [Fact]
    public void SampledTokenFrequenciesMatchTheExactProbabilities()
    {
        // Z1R: P(1 at position 1) = 1/2 exactly; 40,000 draws put the estimate within 0.01 (5σ ≈ 0.0125).
        var sampler = new ProcessSampler(BuiltinProcesses.Z1r());
        var data = new int[40_000 * 3];
        sampler.Sample(new Rng(11), data, 40_000, 3);
        int zeroThenZero = 0;
        for (int b = 0; b < 40_000; b++)
        {
            if (data[b * 3] == 0 && data[(b * 3) + 1] == 0)
            {
                zeroThenZero++;
            }
        }

        Assert.InRange(zeroThenZero / 40_000.0, (1.0 / 6) - 0.01, (1.0 / 6) + 0.01);
    }
}

public sealed class Mess3MixtureTests
{
    [Fact]
    public void ComponentsAreTheThreeMess3BlocksWithEqualDefaultWeights()
    {
        var mixture = BuiltinProcesses.Create("mess3_mixture");
        Assert.Equal(9, mixture.StateCount);
        Assert.Equal([0, 0, 0, 1, 1, 1, 2, 2, 2], ProcessBuilders.ComponentOfStates(mixture)!);
        foreach (double p in mixture.InitialBelief)
        {
            Assert.Equal(1.0 / 9, p, 15);
        }
    }

    [Fact]
    public void PosteriorOverComponentsFollowsBayesRule()
    {
        // After one token, each component's mass is w_c · P_c(token) / P(token); every Mess3 emits each token w.p. 1/3.
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Create("mess3_mixture", new Dictionary<string, double> { ["w1"] = 2, ["w2"] = 1, ["w3"] = 1 }), 1);
        int node = tree.DepthStart[1];
        var belief = tree.Belief(node);
        Assert.Equal(1.0 / 3, Math.Exp(tree.LogProbability[node]), 12);
        Assert.Equal(0.5, belief[0] + belief[1] + belief[2], 12);
        Assert.Equal(0.25, belief[3] + belief[4] + belief[5], 12);
        Assert.Equal(0.25, belief[6] + belief[7] + belief[8], 12);
    }

    [Fact]
    public void ComponentOfStatesIsNullForAnErgodicProcess() =>
        Assert.Null(ProcessBuilders.ComponentOfStates(BuiltinProcesses.Mess3()));
}
