namespace BeliefLens.Core.Tests;

/// <summary>The MSP drawn as a graph: known state counts and the known ε-machines as its recurrent part.</summary>
public sealed class MspGraphTests
{
    [Fact]
    public void Z1rHasSevenStatesThreeRecurrentFourTransient()
    {
        var graph = MspGraph.From(MixedStatePresentation.Build(BuiltinProcesses.Z1r(), 30));
        Assert.True(graph.IsComplete);
        Assert.Equal(7, graph.Nodes.Count);
        Assert.Equal(3, graph.Nodes.Count(n => n.Kind == MspStateKind.Recurrent));
        Assert.Equal(4, graph.Nodes.Count(n => n.Kind == MspStateKind.Transient));
        Assert.DoesNotContain(graph.Nodes, n => n.Truncated);

        // The recurrent part is Z1R's own ε-machine: the three synchronised states, each visited a third of the time.
        foreach (var node in graph.Nodes.Where(n => n.Kind == MspStateKind.Recurrent))
        {
            Assert.Equal(1.0, node.Belief.Max(), 12);
            Assert.Equal(1.0 / 3, node.Stationary, 10);
        }

        Assert.False(graph.StationaryIsWithinClass);
        AssertOutgoingSumsToOne(graph);
    }

    [Fact]
    public void RrxorHas36DistinctBeliefs()
    {
        var graph = MspGraph.From(MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), 30));
        Assert.True(graph.IsComplete);
        Assert.Equal(36, graph.Nodes.Count);
        Assert.Equal(36, graph.Nodes.Select(n => string.Join(",", n.Belief.Select(b => Math.Round(b, 9)))).Distinct().Count());
        Assert.Equal(5, graph.Nodes.Count(n => n.Kind == MspStateKind.Recurrent));
        AssertOutgoingSumsToOne(graph);
    }

    // Even process: A emits 0 → A (1−p) or 1 → B (p); B emits 1 → A. π = (1, p)/(1 + p).
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.3)]
    public void EvenProcessRecurrentPartIsItsEpsilonMachine(double p)
    {
        var graph = MspGraph.From(MixedStatePresentation.Build(BuiltinProcesses.Even(p), 40));
        Assert.True(graph.IsComplete);
        var (a, b) = RecurrentPair(graph);
        AssertEdges(graph, a, [(0, a.Id, 1 - p), (1, b.Id, p)]);
        AssertEdges(graph, b, [(1, a.Id, 1.0)]);
        Assert.Equal(1 / (1 + p), a.Stationary, 10);
        Assert.Equal(p / (1 + p), b.Stationary, 10);

        // From π a run of 1s never synchronises; the beliefs alternate between π and (½, ½): two transient states.
        Assert.Equal(2, graph.Nodes.Count(n => n.Kind == MspStateKind.Transient));
        Assert.Equal(4, graph.Nodes.Count);
    }

    // Golden mean: A emits 0 → A (1−p) or 1 → B (p); B emits 0 → A. One token synchronises: 1 transient + 2 recurrent.
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.3)]
    public void GoldenMeanRecurrentPartIsItsEpsilonMachine(double p)
    {
        var graph = MspGraph.From(MixedStatePresentation.Build(BuiltinProcesses.GoldenMean(p), 40));
        Assert.True(graph.IsComplete);
        Assert.Equal(3, graph.Nodes.Count);
        Assert.Equal(1, graph.Nodes.Count(n => n.Kind == MspStateKind.Transient));
        var (a, b) = RecurrentPair(graph);
        AssertEdges(graph, a, [(0, a.Id, 1 - p), (1, b.Id, p)]);
        AssertEdges(graph, b, [(0, a.Id, 1.0)]);
        Assert.Equal(1 / (1 + p), a.Stationary, 10);
        Assert.Equal(p / (1 + p), b.Stationary, 10);
    }

    [Fact]
    public void DepthCapKeepsAnInfiniteMspDrawable()
    {
        var msp = MixedStatePresentation.Build(BuiltinProcesses.Mess3(), 8);
        Assert.False(msp.IsComplete);

        // 1 + 3 + 9 = 13 states reach depth 2; depth 3 adds 27 more (40 > 30), so the cap falls to 2.
        var graph = MspGraph.From(msp, maxNodes: 30);
        Assert.Equal(2, graph.MaxDepth);
        Assert.Equal(13, graph.Nodes.Count);
        Assert.False(graph.IsComplete);
        Assert.Equal(msp.StateCount, graph.TotalStates);
        Assert.All(graph.Nodes, n => Assert.Equal(n.FirstDepth == 2, n.Truncated));
        Assert.All(graph.Nodes, n => Assert.Equal(MspStateKind.Unresolved, n.Kind));
        var ids = graph.Nodes.Select(n => n.Id).ToHashSet();
        Assert.All(graph.Edges, e => Assert.True(ids.Contains(e.From) && ids.Contains(e.To)));
        Assert.Equal(12, graph.Edges.Count);

        var explicitCap = MspGraph.From(msp, maxDepth: 1);
        Assert.Equal(4, explicitCap.Nodes.Count);
    }

    [Fact]
    public void TruncatedSearchStillGivesTheStationaryProbabilityWithinTheRecurrentClass()
    {
        // RRXOR's five recurrent states close before its deepest transient states are found: at that depth the long-run
        // class weight is unknown (mass is still in unresolved states), but π within the class is, and matches the
        // complete MSP's.
        var complete = MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), 30);
        int depth = Enumerable.Range(1, 29).First(d =>
        {
            var m = MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), d);
            return m.RecurrentCount == 5 && !m.IsComplete;
        });
        var msp = MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), depth);
        Assert.Null(msp.StationaryDistribution);
        var graph = MspGraph.From(msp);
        Assert.True(graph.StationaryIsWithinClass);
        var recurrent = graph.Nodes.Where(n => n.Kind == MspStateKind.Recurrent).ToList();
        Assert.Equal(1.0, recurrent.Sum(n => n.Stationary), 12);
        foreach (var node in recurrent)
        {
            Assert.Equal(complete.StationaryDistribution![node.Id], node.Stationary, 10); // breadth-first ids agree
        }
    }

    [Fact]
    public void StationaryWithinClassesSumsToOnePerClass()
    {
        // "Always 0" (weight 0.3) and "always 1" (weight 0.7): two one-state classes; long run 0.3/0.7, within class 1/1.
        var msp = MixedStatePresentation.Build(ProcessBuilders.Mixture([(BuiltinProcesses.Coin(1), 3), (BuiltinProcesses.Coin(0), 7)]), 10);
        var within = msp.StationaryWithinClasses();
        Assert.Equal([0.0, 1.0, 1.0], within);
        Assert.Equal(0.3, msp.StationaryDistribution![1], 12);
        Assert.Equal(0.7, msp.StationaryDistribution![2], 12);
    }

    private static (MspGraphNode A, MspGraphNode B) RecurrentPair(MspGraph graph)
    {
        var recurrent = graph.Nodes.Where(n => n.Kind == MspStateKind.Recurrent).ToList();
        Assert.Equal(2, recurrent.Count);
        var a = Assert.Single(recurrent, n => n.Belief[0] > 0.5);
        var b = Assert.Single(recurrent, n => n.Belief[1] > 0.5);
        Assert.Equal([1.0, 0.0], a.Belief);
        Assert.Equal([0.0, 1.0], b.Belief);
        return (a, b);
    }

    private static void AssertEdges(MspGraph graph, MspGraphNode from, (int Token, int To, double Probability)[] expected)
    {
        var edges = graph.Edges.Where(e => e.From == from.Id).OrderBy(e => e.Token).ToList();
        Assert.Equal(expected.Length, edges.Count);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k].Token, edges[k].Token);
            Assert.Equal(expected[k].To, edges[k].To);
            Assert.Equal(expected[k].Probability, edges[k].Probability, 12);
        }
    }

    private static void AssertOutgoingSumsToOne(MspGraph graph)
    {
        foreach (var node in graph.Nodes)
        {
            Assert.Equal(1.0, graph.Edges.Where(e => e.From == node.Id).Sum(e => e.Probability), 12);
        }
    }
}
