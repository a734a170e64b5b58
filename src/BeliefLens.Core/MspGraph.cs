namespace BeliefLens.Core;

/// <summary>One belief state of an <see cref="MspGraph"/>.</summary>
/// <param name="Id">The state's index in the MSP (0 is the initial belief).</param>
/// <param name="Belief">The belief over the hidden states.</param>
/// <param name="Kind">Recurrent, transient or (search truncated) unresolved.</param>
/// <param name="Stationary">Long-run probability (see <see cref="MspGraph.StationaryIsWithinClass"/>); 0 for non-recurrent states.</param>
/// <param name="FirstDepth">The shortest prefix length that reaches the state.</param>
/// <param name="Truncated">True when some of the state's outgoing transitions are not drawn (beyond the depth cap or never computed).</param>
public sealed record MspGraphNode(int Id, double[] Belief, MspStateKind Kind, double Stationary, int FirstDepth, bool Truncated);

/// <summary>One transition: emitting <paramref name="Token"/> from <paramref name="From"/> leads to <paramref name="To"/>.</summary>
public sealed record MspGraphEdge(int From, int To, int Token, double Probability);

/// <summary>
/// The MSP as a graph to draw: belief states as nodes, token transitions as edges, cut at a depth so that a process
/// with infinitely many belief states still gives a drawable picture. A view of an existing
/// <see cref="MixedStatePresentation"/>: it recomputes no belief and no probability.
/// </summary>
public sealed class MspGraph
{
    private MspGraph(string processName, IReadOnlyList<string> tokenNames, IReadOnlyList<string> stateNames, int maxDepth, bool complete,
        bool stationaryIsWithinClass, int totalStates, IReadOnlyList<MspGraphNode> nodes, IReadOnlyList<MspGraphEdge> edges)
    {
        ProcessName = processName;
        TokenNames = tokenNames;
        StateNames = stateNames;
        MaxDepth = maxDepth;
        IsComplete = complete;
        StationaryIsWithinClass = stationaryIsWithinClass;
        TotalStates = totalStates;
        Nodes = nodes;
        Edges = edges;
    }

    public string ProcessName { get; }

    public IReadOnlyList<string> TokenNames { get; }

    /// <summary>The hidden states' names, in belief order.</summary>
    public IReadOnlyList<string> StateNames { get; }

    /// <summary>Nodes are the states first reached within this many tokens.</summary>
    public int MaxDepth { get; }

    /// <summary>True when the graph holds the whole finite MSP: no state was cut.</summary>
    public bool IsComplete { get; }

    /// <summary>
    /// True when the MSP search was truncated, so node stationary probabilities are within each recurrent class (the
    /// weights of the classes are not known); false when they are the MSP's long-run distribution.
    /// </summary>
    public bool StationaryIsWithinClass { get; }

    /// <summary>How many states the MSP search found (the graph may draw fewer).</summary>
    public int TotalStates { get; }

    public IReadOnlyList<MspGraphNode> Nodes { get; }

    public IReadOnlyList<MspGraphEdge> Edges { get; }

    /// <summary>
    /// The states of <paramref name="msp"/> first reached within <paramref name="maxDepth"/> tokens (all of them when
    /// null) and the transitions between them, cut further so that at most <paramref name="maxNodes"/> states are
    /// drawn: the cap becomes the deepest whole level that fits.
    /// </summary>
    public static MspGraph From(MixedStatePresentation msp, int? maxDepth = null, int maxNodes = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(msp);
        if (maxDepth is < 0)
        {
            throw new BeliefLensInputException($"graph depth: {maxDepth} is negative; give 0 or more.");
        }

        if (maxNodes < 1)
        {
            throw new BeliefLensInputException($"graph states: {maxNodes} must be at least 1.");
        }

        int cap = Math.Min(maxDepth ?? msp.Depth, msp.FirstDepth.Length == 0 ? 0 : msp.FirstDepth.Max());
        while (cap > 0 && msp.FirstDepth.Count(d => d <= cap) > maxNodes)
        {
            cap--;
        }

        int s = msp.Process.StateCount;
        int v = msp.Process.VocabSize;
        var stationary = msp.StationaryDistribution ?? msp.StationaryWithinClasses();
        var nodes = new List<MspGraphNode>();
        var edges = new List<MspGraphEdge>();
        for (int state = 0; state < msp.StateCount; state++)
        {
            if (msp.FirstDepth[state] > cap)
            {
                continue;
            }

            bool truncated = !msp.Expanded[state];
            for (int x = 0; x < v; x++)
            {
                int target = msp.Next[state * v + x];
                if (target < 0)
                {
                    continue;
                }

                if (msp.FirstDepth[target] > cap)
                {
                    truncated = true;
                    continue;
                }

                edges.Add(new MspGraphEdge(state, target, x, msp.NextProbability[state * v + x]));
            }

            nodes.Add(new MspGraphNode(state, msp.Belief(state).ToArray(), msp.Kinds[state], stationary[state], msp.FirstDepth[state], truncated));
        }

        bool complete = msp.IsComplete && nodes.Count == msp.StateCount;
        return new MspGraph(msp.Process.Name, msp.Process.TokenNames, msp.Process.StateNames, cap, complete, msp.StationaryDistribution is null,
            msp.StateCount, nodes, edges);
    }
}
