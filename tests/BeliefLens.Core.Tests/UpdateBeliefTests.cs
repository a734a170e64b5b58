using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

public sealed class UpdateBeliefTests
{
    [Fact]
    public void Mess3FirstTokenMatchesTheHandComputedUpdate()
    {
        var process = BuiltinProcesses.Mess3(0.15, 0.6);
        var next = new double[3];
        double p = BeliefMath.Update(process, process.InitialBelief, 0, next);
        Assert.Equal(1.0 / 3, p, 14);
        Assert.Equal([0.6, 0.2, 0.2], next.Select(v => Math.Round(v, 14)).ToArray());
    }

    [Theory]
    [InlineData("post_quantum")]
    [InlineData("rrxor")]
    public void AgreesWithTheBeliefTreeAtEveryNode(string name)
    {
        var process = BuiltinProcesses.Create(name);
        var tree = BeliefTree.Enumerate(process, 5);
        var next = new double[process.StateCount];
        for (int node = 1; node < tree.Count; node++)
        {
            int parent = tree.Parent[node];
            double p = BeliefMath.Update(process, tree.Belief(parent), tree.Token[node], next);
            Assert.Equal(Math.Exp(tree.LogProbability[node] - tree.LogProbability[parent]), p, 12);
            for (int i = 0; i < next.Length; i++)
            {
                Assert.Equal(tree.Belief(node)[i], next[i], 12);
            }
        }
    }
}
