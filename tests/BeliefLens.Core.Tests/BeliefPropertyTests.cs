using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

/// <summary>Properties every process must satisfy, checked for every built-in.</summary>
public sealed class BeliefPropertyTests
{
    public static TheoryData<string> Builtins()
    {
        var data = new TheoryData<string>();
        foreach (var builtin in BuiltinProcesses.All)
        {
            data.Add(builtin.Name);
        }

        return data;
    }

    private static int DepthFor(Process process) => process.VocabSize switch { <= 2 => 9, <= 4 => 6, <= 64 => 3, _ => 1 }; // factored_paper: 432 tokens

    [Theory]
    [MemberData(nameof(Builtins))]
    public void ProbabilitiesAtEachDepthSumToOne(string name)
    {
        var process = BuiltinProcesses.Create(name);
        var tree = BeliefTree.Enumerate(process, DepthFor(process));
        for (int d = 0; d <= tree.Depth; d++)
        {
            double sum = 0;
            for (int k = tree.DepthStart[d]; k < tree.DepthStart[d + 1]; k++)
            {
                sum += Math.Exp(tree.LogProbability[k]);
            }

            Assert.Equal(1, sum, 10);
        }
    }

    [Theory]
    [MemberData(nameof(Builtins))]
    public void BeliefsAreNormalised(string name)
    {
        var process = BuiltinProcesses.Create(name);
        var tree = BeliefTree.Enumerate(process, DepthFor(process));
        for (int k = 0; k < tree.Count; k++)
        {
            var belief = tree.Belief(k);
            double dot = 0;
            for (int j = 0; j < belief.Length; j++)
            {
                dot += belief[j] * process.Tau[j];
                if (process.Kind == ProcessKind.Hmm)
                {
                    Assert.True(belief[j] >= 0, $"negative HMM belief entry at prefix {k}");
                }
            }

            Assert.Equal(1, dot, 10); // b·τ = 1 (for an HMM: the entries sum to 1)
        }
    }

    [Theory]
    [MemberData(nameof(Builtins))]
    public void MyopicEntropyNeverIncreasesAndMspAgreesWithTree(string name)
    {
        var process = BuiltinProcesses.Create(name);
        int depth = DepthFor(process);
        var h = BeliefTree.Enumerate(process, depth).MyopicEntropies();
        // Stationary processes only: a BOS start makes h(1) = 0 (dursley_wonka).
        for (int l = 1; l < h.Length && process.Composite?.BosToken is null; l++)
        {
            Assert.True(h[l] <= h[l - 1] + 1e-12, $"h({l + 1}) = {h[l]} > h({l}) = {h[l - 1]}");
        }

        var fromMsp = MixedStatePresentation.Build(process, depth).MyopicEntropies;
        for (int l = 0; l < h.Length; l++)
        {
            Assert.Equal(h[l], fromMsp[l], 9);
        }
    }

    [Theory]
    [MemberData(nameof(Builtins))]
    public void SpecJsonRoundTripsExactly(string name)
    {
        var process = BuiltinProcesses.Create(name);
        var back = ProcessSpec.Parse(ProcessSpec.ToJson(process));
        Assert.Equal(process.Kind, back.Kind);
        Assert.Equal(process.Transitions, back.Transitions);
        Assert.Equal(process.TokenNames, back.TokenNames);
        Assert.Equal(process.StateNames, back.StateNames);
        for (int j = 0; j < process.StateCount; j++)
        {
            Assert.Equal(process.InitialBelief[j], back.InitialBelief[j], 14);
            Assert.Equal(process.Tau[j], back.Tau[j], 10);
        }
    }

    [Fact]
    public void ParentAndPrefixAreConsistent()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Mess3(), 4);
        Assert.Equal(1 + 3 + 9 + 27 + 81, tree.Count);
        Assert.Empty(tree.Prefix(0));
        for (int k = 1; k < tree.Count; k++)
        {
            var prefix = tree.Prefix(k);
            Assert.Equal(tree.Token[k], prefix[^1]);
            Assert.Equal(tree.Prefix(tree.Parent[k]), prefix[..^1]);
            Assert.True(k >= tree.DepthStart[prefix.Length] && k < tree.DepthStart[prefix.Length + 1]);
        }
    }

    [Fact]
    public void SingleBranchProcessEnumeratesDeeplyWithLinearMemory()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Coin(1), 100_000);
        Assert.Equal(100_001, tree.Count);
        Assert.Equal(0, tree.LogProbability[^1]);
    }

    [Fact]
    public void DepthErrorsNameTheDepth()
    {
        var negative = Assert.Throws<BeliefLensInputException>(() => BeliefTree.Enumerate(BuiltinProcesses.Mess3(), -1));
        Assert.StartsWith("depth:", negative.Message);
        var tooLarge = Assert.Throws<BeliefLensInputException>(() => BeliefTree.Enumerate(BuiltinProcesses.Mess3(), 40));
        Assert.StartsWith("depth: 40", tooLarge.Message);
        var growing = Assert.Throws<BeliefLensInputException>(() => BeliefTree.Enumerate(BuiltinProcesses.Rrxor(), 80));
        Assert.StartsWith("depth: 80", growing.Message);
    }

    [Fact]
    public void MspMergesWithinToleranceOnly()
    {
        // Mess3 beliefs after long runs of one token converge; a coarse tolerance merges more of them.
        var fine = MixedStatePresentation.Build(BuiltinProcesses.Mess3(), 7, 1e-12);
        var coarse = MixedStatePresentation.Build(BuiltinProcesses.Mess3(), 7, 1e-3);
        Assert.Equal(1 + 3 + 9 + 27 + 81 + 243 + 729 + 2187, fine.StateCount);
        Assert.True(coarse.StateCount < fine.StateCount);
        for (int a = 0; a < coarse.StateCount; a++)
        {
            for (int b = a + 1; b < Math.Min(coarse.StateCount, a + 50); b++)
            {
                double distance = 0;
                for (int j = 0; j < 3; j++)
                {
                    distance = Math.Max(distance, Math.Abs(coarse.Belief(a)[j] - coarse.Belief(b)[j]));
                }

                Assert.True(distance > 1e-3, $"states {a} and {b} should have been merged");
            }
        }
    }

    [Fact]
    public void LossFloorIsTheMyopicEntropyPerPosition()
    {
        var msp = MixedStatePresentation.Build(BuiltinProcesses.Mess3(), 11);
        var floor = msp.LossFloor(10);

        // Position t reads tokens 0..t and predicts token t+1: the floor is h(t+2), so n_ctx 10 needs h(2..11).
        Assert.Equal(msp.MyopicEntropies[1..11], floor);

        // DEVELOPERS.md: the paper's Mess3 with n_ctx 10 has a mean floor ≈ 0.8025 nats: positions 1..10 of 11 tokens.
        Assert.Equal(0.8025, floor.Average(), 4);
        Assert.Throws<BeliefLensInputException>(() => msp.LossFloor(11));
    }
}
