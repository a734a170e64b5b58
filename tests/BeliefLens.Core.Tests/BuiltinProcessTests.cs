using BeliefLens.Core;
using static BeliefLens.Core.Tests.PublishedValuesTests;

namespace BeliefLens.Core.Tests;

/// <summary>Hand-computed beliefs and probabilities for each built-in process.</summary>
public sealed class BuiltinProcessTests
{
    private static double P(BeliefTree tree, params int[] prefix) => Math.Exp(tree.LogProbability[FindPrefix(tree, prefix)]);

    private static void AssertVector(double[] expected, ReadOnlySpan<double> actual, int precision = 12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int j = 0; j < expected.Length; j++)
        {
            Assert.Equal(expected[j], actual[j], precision);
        }
    }

    [Fact]
    public void RrxorStationaryAndFirstZero()
    {
        var process = BuiltinProcesses.Rrxor();
        AssertVector([2.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6], process.InitialBelief);
        var tree = BeliefTree.Enumerate(process, 1);
        Assert.Equal(0.5, P(tree, 0), 14);

        // S→0 (1/6), 0→F (1/12), 1→T (1/12), F→S (1/6), normalised by 1/2.
        AssertBelief(tree, [0], [1.0 / 3, 1.0 / 3, 0, 1.0 / 6, 1.0 / 6]);
    }

    [Fact]
    public void RrxorEntropyRateAndComplexityAreExact()
    {
        var msp = MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), 30);
        Assert.True(msp.IsComplete);
        Assert.Equal(36, msp.StateCount);
        Assert.Equal(5, msp.RecurrentCount);
        Assert.Equal(2.0 / 3 * Math.Log(2), msp.ExactEntropyRate!.Value, 12);

        // Causal-state distribution [2,1,1,1,1]/6.
        double expected = -((2.0 / 6 * Math.Log(2.0 / 6)) + (4 * (1.0 / 6) * Math.Log(1.0 / 6)));
        Assert.Equal(expected, msp.StatisticalComplexity!.Value, 10);
    }

    [Fact]
    public void EvenProcess()
    {
        var process = BuiltinProcesses.Even();
        AssertVector([2.0 / 3, 1.0 / 3], process.InitialBelief);
        var tree = BeliefTree.Enumerate(process, 3);
        Assert.Equal(2.0 / 3, P(tree, 1), 14);
        AssertBelief(tree, [1], [0.5, 0.5]);
        Assert.Equal(1.0 / 3, P(tree, 0), 14);
        AssertBelief(tree, [0], [1, 0]);

        // After 0 we are in A; "0 1 0" would end a block of one 1, which the even process forbids.
        Assert.Throws<InvalidOperationException>(() => FindPrefix(tree, [0, 1, 0]));
    }

    [Fact]
    public void GoldenMeanForbidsTwoOnes()
    {
        // The golden mean shift: π = [2/3, 1/3], P(1) = π_A·p = 1/3, and after a 1 only a 0 can follow.
        var process = BuiltinProcesses.GoldenMean();
        AssertVector([2.0 / 3, 1.0 / 3], process.InitialBelief);
        var tree = BeliefTree.Enumerate(process, 3);
        Assert.Equal(1.0 / 3, P(tree, 1), 14);
        AssertBelief(tree, [1], [0, 1]);
        Assert.Throws<InvalidOperationException>(() => FindPrefix(tree, [1, 1]));
        Assert.Equal(5, tree.DepthStart[4] - tree.DepthStart[3]); // Fibonacci: 000 001 010 100 101

        var msp = MixedStatePresentation.Build(process, 20);
        Assert.Equal(2.0 / 3 * Math.Log(2), msp.ExactEntropyRate!.Value, 14);
        Assert.Equal(BuiltinProcesses.NoConsecutiveOnes().Transitions, process.Transitions);
    }

    [Fact]
    public void NoConsecutiveZerosIsTheGoldenMeanWithTokensSwapped()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.NoConsecutiveZeros(), 2);
        Assert.Equal(1.0 / 3, P(tree, 0), 14);
        AssertBelief(tree, [0], [0, 1]);
        Assert.Throws<InvalidOperationException>(() => FindPrefix(tree, [0, 0]));
    }

    [Fact]
    public void NoConsecutiveOnesForbidsTwoOnes()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.NoConsecutiveOnes(0.25), 2);
        var pi = tree.Process.InitialBelief;
        AssertVector([0.8, 0.2], pi); // π_A = 1/(1+p)
        Assert.Equal(0.2, P(tree, 1), 14);
        Assert.Throws<InvalidOperationException>(() => FindPrefix(tree, [1, 1]));
    }

    [Fact]
    public void CoinIsIid()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Coin(0.3), 3);
        Assert.Equal(0.3 * 0.7 * 0.3, P(tree, 0, 1, 0), 14);
        double h = -((0.3 * Math.Log(0.3)) + (0.7 * Math.Log(0.7)));
        Assert.All(tree.MyopicEntropies(), value => Assert.Equal(h, value, 12));
    }

    [Fact]
    public void SimpleNonunifilarSource()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Sns(), 2);
        AssertVector([0.5, 0.5], tree.Process.InitialBelief);
        Assert.Equal(0.25, P(tree, 1), 14);
        AssertBelief(tree, [1], [1, 0]);
        AssertBelief(tree, [1, 0], [0.5, 0.5]);

        // From [½,½], emitting 0: A keeps ½·½ in A, sends ½·½ to B; B keeps ½·½. So P = ¾ and the belief is [⅓, ⅔].
        var deeper = BeliefTree.Enumerate(BuiltinProcesses.Sns(), 3);
        AssertBelief(deeper, [1, 0, 0], [1.0 / 3, 2.0 / 3]);
        Assert.Equal(0.75, P(deeper, 1, 0, 0) / P(deeper, 1, 0), 14);
        Assert.False(MixedStatePresentation.Build(BuiltinProcesses.Sns(), 20).IsComplete); // countably many causal states
    }

    [Fact]
    public void DaysOfWeek()
    {
        var process = BuiltinProcesses.DaysOfWeek();
        Assert.Equal(11, process.VocabSize);
        Assert.Equal(7, process.StateCount);
        var tree = BeliefTree.Enumerate(process, 3);
        AssertBelief(tree, [0], [1, 0, 0, 0, 0, 0, 0]);                   // "M" means today is Monday
        Assert.Equal(1.0 / 3, P(tree, 0, 1) / P(tree, 0), 12);             // Tuesday after Monday: weight 5 of 15
        Assert.Equal(1.0 / 15, P(tree, 0, 7) / P(tree, 0), 12);            // Tmrw
        AssertBelief(tree, [0, 7], [0, 1, 0, 0, 0, 0, 0]);
        AssertBelief(tree, [0, 8], [0, 0, 0, 0, 0, 0, 1]);                 // Yest from Monday is Sunday
        AssertBelief(tree, [0, 10], [0.2, 0.2, 0.2, 0.2, 0.2, 0, 0]);      // Wkdy
        Assert.Equal(1.0 / 15, P(tree, 0, 9) / P(tree, 0), 12);            // Wknd total weight 1
    }

    [Fact]
    public void MatchingParens()
    {
        var process = BuiltinProcesses.MatchingParens(3, 0.5);
        AssertVector([1.0 / 6, 2.0 / 6, 2.0 / 6, 1.0 / 6], process.InitialBelief);
        var tree = BeliefTree.Enumerate(process, 4);
        Assert.Equal(0.5, P(tree, 0), 14);
        AssertBelief(tree, [1], [1.0 / 3, 1.0 / 3, 1.0 / 3, 0]);
        AssertBelief(tree, [0, 0, 0], [0, 0, 0, 1]);
        Assert.Throws<InvalidOperationException>(() => FindPrefix(tree, [0, 0, 0, 0])); // depth 4 does not exist
    }

    [Fact]
    public void MrName()
    {
        var process = BuiltinProcesses.MrName();
        AssertVector([1.0 / 6, 2.0 / 6, 2.0 / 6, 1.0 / 6], process.InitialBelief);
        var tree = BeliefTree.Enumerate(process, 3);
        Assert.Equal(1.0 / 6, P(tree, 0), 14);                     // P(Mr.) = (π_Something + π_Blah)·q
        Assert.Equal(1, P(tree, 0, 3) / P(tree, 0), 14);            // Mr. is always followed by a name
        Assert.Equal(0.5, P(tree, 0, 3, 1) / P(tree, 0, 3), 14);
        Assert.Equal(0.35, P(tree, 1, 1) / P(tree, 1), 14);         // Something → Something: 1 − p − q
        Assert.Equal(0.4, P(tree, 1, 2) / P(tree, 1), 14);
    }

    [Fact]
    public void LeakyRrxorMixesInUniformNoise()
    {
        var leaky = BuiltinProcesses.LeakyRrxor(0.5, 0.5, 0.1);
        var plain = BuiltinProcesses.Rrxor();
        for (int k = 0; k < leaky.Transitions.Length; k++)
        {
            Assert.Equal((0.9 * plain.Transitions[k]) + 0.01, leaky.Transitions[k], 15);
        }

        var none = BuiltinProcesses.LeakyRrxor(0.5, 0.5, 0);
        Assert.Equal(plain.Transitions, none.Transitions);
        var tree = BeliefTree.Enumerate(leaky, 6);
        Assert.Equal(127, tree.Count); // full support: Σ 2^d
    }

    [Fact]
    public void TomQuantumIsTheBlochWalk()
    {
        var process = BuiltinProcesses.TomQuantum();
        Assert.Equal(ProcessKind.Ghmm, process.Kind);
        AssertVector([3, 0, 0], process.Tau);
        AssertVector([1.0 / 3, 0, 0], process.InitialBelief);
        var tree = BeliefTree.Enumerate(process, 2);
        for (int x = 0; x < 4; x++)
        {
            Assert.Equal(0.25, P(tree, x), 14);
        }

        // After token 0 the belief is π T[0] / ¼ = [1/3, 0, 4o/3] with o = 2αβ/(4(α²+β²)).
        double o = 2 * Math.Sqrt(51) / (4 * 52.0);
        AssertBelief(tree, [0], [1.0 / 3, 0, 4 * o / 3]);

        // Repeating the measurement is more likely than not: P(0|0) = ¼ + 4o²·... = 3(1/12 + (4o/3)·o).
        Assert.Equal(3 * ((1.0 / 12) + (4 * o / 3 * o)), P(tree, 0, 0) / 0.25, 12);
    }

    [Fact]
    public void PostQuantumIsRescaledToSpectralRadiusOne()
    {
        var process = BuiltinProcesses.PostQuantum();
        // Σx T[x], flat 3×3.
        var total = Enumerable.Range(0, 9).Select(k => Enumerable.Range(0, process.VocabSize).Sum(x => process.T(x, k / 3, k % 3))).ToArray();
        Assert.Equal(1, LinearAlgebra.SpectralRadius(total, 3), 10);
        Assert.Equal(3, process.Tau.Sum(), 12);
        Assert.Equal(1, Dot(process.InitialBelief, process.Tau), 12);

        // T1 and T2 keep their shape [[v,0,0],[0,1,0],[0,ln v,1]] up to the common scale.
        double scale = process.T(1, 1, 1);
        Assert.Equal(Math.E * scale, process.T(1, 0, 0), 12);
        Assert.Equal(1 * scale, process.T(1, 2, 1), 12);
        Assert.Equal(Math.Log(0.5) * scale, process.T(2, 2, 1), 12);
    }

    [Fact]
    public void FanizzaHasAllOnesTau()
    {
        var process = BuiltinProcesses.Fanizza();
        AssertVector([1, 1, 1, 1], process.Tau, 10);
        Assert.Equal(0.49, process.T(1, 1, 1), 12);
        Assert.Equal(0, process.T(1, 0, 0));
    }

    [Theory]
    [InlineData("mess3", "x", 0.6)]
    [InlineData("rrxor", "p1", -0.1)]
    [InlineData("z1r", "p", 2)]
    [InlineData("mr_name", "p", 0.9)]
    [InlineData("matching_parens", "depth", 2.5)]
    [InlineData("post_quantum", "alpha", 0.5)]
    [InlineData("fanizza", "lambda", 1)]
    [InlineData("leaky_rrxor", "epsilon", 1.5)]
    public void OutOfRangeParametersNameTheParameter(string name, string parameter, double value)
    {
        var ex = Assert.Throws<BeliefLensInputException>(() => BuiltinProcesses.Create(name, new Dictionary<string, double> { [parameter] = value }));
        Assert.StartsWith($"--param {parameter}:", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void UnknownProcessAndParameterAreRejected()
    {
        var unknown = Assert.Throws<BeliefLensInputException>(() => BuiltinProcesses.Create("mess4"));
        Assert.Contains("mess3", unknown.Message);
        var parameter = Assert.Throws<BeliefLensInputException>(() => BuiltinProcesses.Create("mess3", new Dictionary<string, double> { ["beta"] = 1 }));
        Assert.StartsWith("--param beta:", parameter.Message);
        Assert.Contains("alpha", parameter.Message);
    }

    [Fact]
    public void EveryBuiltinBuildsWithDefaults()
    {
        foreach (var builtin in BuiltinProcesses.All)
        {
            var process = BuiltinProcesses.Create(builtin.Name);
            Assert.Equal(process.VocabSize, process.TokenNames.Count);
            Assert.Equal(process.StateCount, process.StateNames.Count);
        }
    }

    internal static double Dot(IReadOnlyList<double> a, IReadOnlyList<double> b) => a.Zip(b).Sum(pair => pair.First * pair.Second);
}
