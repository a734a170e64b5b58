using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

/// <summary>The one belief update, next-token distribution and loss floor, and the agreement of every caller.</summary>
public sealed class BeliefMathTests
{
    [Fact]
    public void Mess3NextTokenDistributionFromStationaryIsUniform()
    {
        var process = BuiltinProcesses.Mess3();
        var p = BeliefMath.NextTokenDistribution(process, process.InitialBelief);
        Assert.All(p, value => Assert.Equal(1.0 / 3, value, 15));
        Assert.Equal(Math.Log(3), BeliefMath.Entropy(p), 14);
    }

    [Fact]
    public void UpdateThroughAZeroProbabilityTokenReportsZeroAndAnEmptyBelief()
    {
        // Golden mean: after a 1 the process is in B, which can only emit 0.
        var process = BuiltinProcesses.GoldenMean();
        var afterOne = new double[2];
        Assert.Equal(1.0 / 3, BeliefMath.Update(process, process.InitialBelief, 1, afterOne), 15);
        Assert.Equal([0.0, 1.0], afterOne);

        var next = new double[] { 7, 7 };
        Assert.Equal(0, BeliefMath.Update(process, afterOne, 1, next));
        Assert.Equal([0.0, 0.0], next);
        Assert.Equal([1.0, 0.0], BeliefMath.NextTokenDistribution(process, afterOne));
    }

    [Fact]
    public void ZeroToleranceSeparatesRoundingResidueFromRealProbability()
    {
        Assert.True(BeliefMath.IsZero(0));
        Assert.True(BeliefMath.IsZero(3e-16));
        Assert.True(BeliefMath.IsZero(-3e-16));
        Assert.False(BeliefMath.IsZero(2e-12));
    }

    [Fact]
    public void UpdateRejectsATokenOutsideTheVocabulary()
    {
        var process = BuiltinProcesses.Mess3();
        var ex = Assert.Throws<BeliefLensInputException>(() => BeliefMath.Update(process, process.InitialBelief, 3, new double[3]));
        Assert.StartsWith("token: 3", ex.Message);
    }

    [Theory]
    [InlineData("tom_quantum")]
    [InlineData("post_quantum")]
    [InlineData("fanizza")]
    public void GhmmUpdatesKeepBeliefDotTauAtOne(string name)
    {
        var process = BuiltinProcesses.Create(name);
        var rng = new Rng(11);
        var belief = (double[])process.InitialBelief.Clone();
        var next = new double[process.StateCount];
        for (int step = 0; step < 200; step++)
        {
            var p = BeliefMath.NextTokenDistribution(process, belief);
            Assert.Equal(1, p.Sum(), 14);
            Assert.All(p, value => Assert.True(value >= 0));
            int token = Array.FindIndex(p, value => value > 0);
            double u = rng.NextDouble();
            for (int x = 0; x < p.Length; x++)
            {
                if (p[x] > 0 && (u -= p[x]) < 0)
                {
                    token = x;
                    break;
                }
            }

            Assert.True(BeliefMath.Update(process, belief, token, next) > 0);
            double dot = 0;
            for (int j = 0; j < next.Length; j++)
            {
                dot += next[j] * process.Tau[j];
            }

            Assert.Equal(1, dot, 12);
            (belief, next) = (next, belief);
        }
    }

    [Theory]
    [InlineData("mess3")]
    [InlineData("rrxor")]
    [InlineData("post_quantum")]
    public void TreeMspAndSequentialUpdatesAgreeBitForBit(string name)
    {
        var process = BuiltinProcesses.Create(name);
        const int depth = 5;
        var tree = BeliefTree.Enumerate(process, depth);
        var msp = MixedStatePresentation.Build(process, depth, 1e-300);
        var belief = new double[process.StateCount];
        var next = new double[process.StateCount];
        for (int node = 1; node < tree.Count; node++)
        {
            // Validation and sampled probe inputs run the update along the sequence from π.
            process.InitialBelief.CopyTo(belief, 0);
            double logP = 0;
            int state = 0;
            foreach (int token in tree.Prefix(node))
            {
                double p = BeliefMath.Update(process, belief, token, next);
                logP += Math.Log(p);
                (belief, next) = (next, belief);
                Assert.Equal(p, msp.NextProbability[(state * process.VocabSize) + token]);
                state = msp.Next[(state * process.VocabSize) + token];
            }

            Assert.Equal(tree.Belief(node).ToArray(), belief);
            Assert.Equal(tree.LogProbability[node], logP);
            Assert.Equal(belief, msp.Belief(state).ToArray());
        }
    }

    [Fact]
    public void SamplerNeverDrawsAZeroProbabilityBranch()
    {
        // GHMMs sample from the belief with the shared next-token distribution; every drawn prefix must be in the tree.
        foreach (var process in new[] { BuiltinProcesses.PostQuantum(), BuiltinProcesses.TomQuantum(), BuiltinProcesses.Rrxor() })
        {
            const int length = 6;
            var tree = BeliefTree.Enumerate(process, length);
            var known = new HashSet<string>();
            for (int k = tree.DepthStart[length]; k < tree.Count; k++)
            {
                known.Add(string.Join(' ', tree.Prefix(k)));
            }

            var rows = new int[500 * length];
            new ProcessSampler(process).Sample(new Rng(5), rows, 500, length);
            for (int r = 0; r < 500; r++)
            {
                Assert.Contains(string.Join(' ', rows.AsSpan(r * length, length).ToArray()), known);
            }
        }
    }

    [Fact]
    public void LossFloorIsTheMyopicEntropyOfTheNextTokenAtEveryPosition()
    {
        // Coin(p): every position has floor H(p). Golden mean: h(1) = H(1/3), then exactly (2/3)·ln 2 from h(2) on.
        double coin = -((0.3 * Math.Log(0.3)) + (0.7 * Math.Log(0.7)));
        Assert.All(LossFloor.Exact(BuiltinProcesses.Coin(0.3), 4), value => Assert.Equal(coin, value, 14));
        var golden = LossFloor.Exact(BuiltinProcesses.GoldenMean(), 3);
        Assert.Equal(3, golden.Length);
        Assert.All(golden, value => Assert.Equal(2.0 / 3 * Math.Log(2), value, 14));

        // The floor of n_ctx positions is h(2..n_ctx+1); the tree's block entropies give the same numbers.
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Mess3(), 6).MyopicEntropies();
        var floor = LossFloor.Exact(BuiltinProcesses.Mess3(), 5);
        for (int t = 0; t < 5; t++)
        {
            Assert.Equal(tree[t + 1], floor[t], 12);
        }

        var ex = Assert.Throws<BeliefLensInputException>(() => LossFloor.PerPosition([1.0, 0.5], 2));
        Assert.StartsWith("context: 2", ex.Message);
    }
}
