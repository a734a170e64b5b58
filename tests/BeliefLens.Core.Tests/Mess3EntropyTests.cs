using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

public sealed class Mess3EntropyTests
{
    [Fact]
    public void PaperMess3MyopicEntropiesMatchPublishedValues()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Mess3(0.05, 0.85), 5);
        double[] expected = [1.098612, 0.857719, 0.813356, 0.798118, 0.794740];
        var h = tree.MyopicEntropies();
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], h[k], 5);
        }
    }

    [Fact]
    public void PaperMess3Depth11HasAllPrefixes()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Mess3(0.05, 0.85), 11);
        Assert.Equal(265_720, tree.Count);
    }
}
