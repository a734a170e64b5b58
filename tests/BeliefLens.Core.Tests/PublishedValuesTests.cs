using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

/// <summary>Numbers published in the issue (from Shai et al. 2024 and the epsilon-transformers reference).</summary>
public sealed class PublishedValuesTests
{
    [Fact]
    public void RrxorHas1723PrefixesAnd36DistinctBeliefsToDepth11()
    {
        var process = BuiltinProcesses.Rrxor();
        var tree = BeliefTree.Enumerate(process, 11);
        Assert.Equal(1723, tree.Count);
        Assert.Equal(36, CountDistinct(tree));
        Assert.Equal(36, MixedStatePresentation.Build(process, 11).StateCount);
    }

    [Fact]
    public void RrxorMyopicEntropies()
    {
        double[] expected = [0.693147, 0.693147, 0.636514, 0.628487];
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Rrxor(), 4);
        var msp = MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), 4);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], tree.MyopicEntropies()[k], 6);
            Assert.Equal(expected[k], msp.MyopicEntropies[k], 6);
        }
    }

    [Fact]
    public void Z1rBeliefsAndSevenDistinctStates()
    {
        var process = BuiltinProcesses.Z1r();
        var tree = BeliefTree.Enumerate(process, 8);
        AssertBelief(tree, [0], [1.0 / 3, 2.0 / 3, 0]);
        AssertBelief(tree, [1, 0], [0.5, 0.5, 0]);
        Assert.Equal(7, CountDistinct(tree));
        var msp = MixedStatePresentation.Build(process, 50);
        Assert.True(msp.IsComplete);
        Assert.Equal(7, msp.StateCount);
        Assert.Equal(3, msp.RecurrentCount);
        Assert.Equal(4, msp.TransientCount);
    }

    [Fact]
    public void Mess3WithX015Alpha06()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Mess3(0.15, 0.6), 1);
        int index = FindPrefix(tree, [0]);
        Assert.Equal(1.0 / 3, Math.Exp(tree.LogProbability[index]), 14);
        double[] expected = [0.6, 0.2, 0.2];
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(expected[j], tree.Belief(index)[j], 14);
        }
    }

    [Fact]
    public void PaperMess3MyopicEntropiesFromTheMsp()
    {
        double[] expected = [1.098612, 0.857719, 0.813356, 0.798118, 0.794740];
        var msp = MixedStatePresentation.Build(BuiltinProcesses.Mess3(), 5);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], msp.MyopicEntropies[k], 6);
        }

        Assert.False(msp.IsComplete);
        Assert.Null(msp.StatisticalComplexity);
    }

    internal static int CountDistinct(BeliefTree tree, double tolerance = 1e-9)
    {
        var distinct = new List<double[]>();
        for (int k = 0; k < tree.Count; k++)
        {
            var b = tree.Belief(k).ToArray();
            if (!distinct.Any(d => d.Zip(b).All(pair => Math.Abs(pair.First - pair.Second) <= tolerance)))
            {
                distinct.Add(b);
            }
        }

        return distinct.Count;
    }

    internal static int FindPrefix(BeliefTree tree, int[] prefix)
    {
        for (int k = tree.DepthStart[prefix.Length]; k < tree.DepthStart[prefix.Length + 1]; k++)
        {
            if (tree.Prefix(k).SequenceEqual(prefix))
            {
                return k;
            }
        }

        throw new InvalidOperationException($"prefix {string.Join(' ', prefix)} has zero probability");
    }

    internal static void AssertBelief(BeliefTree tree, int[] prefix, double[] expected, int precision = 12)
    {
        var belief = tree.Belief(FindPrefix(tree, prefix));
        Assert.Equal(expected.Length, belief.Length);
        for (int j = 0; j < expected.Length; j++)
        {
            Assert.Equal(expected[j], belief[j], precision);
        }
    }
}
