using System.Runtime.InteropServices;

namespace BeliefLens.Core;

/// <summary>How an MSP state behaves in the long run.</summary>
public enum MspStateKind
{
    /// <summary>Visited only finitely often: not in a closed strongly connected component.</summary>
    Transient,

    /// <summary>In a closed strongly connected component whose states are all expanded.</summary>
    Recurrent,

    /// <summary>The MSP was truncated at the requested depth before this state's fate was known.</summary>
    Unresolved,
}

/// <summary>
/// The mixed-state presentation: every belief reachable within <see cref="Depth"/> tokens, with beliefs that agree
/// within <see cref="Tolerance"/> (max-abs) merged, and the token transitions between them. When the search closes
/// before the depth limit the MSP is finite (<see cref="IsComplete"/>) and its recurrent part gives the exact entropy
/// rate and statistical complexity. Myopic entropies come from the belief distribution at each depth, so they need no
/// enumeration of prefixes.
/// </summary>
public sealed class MixedStatePresentation
{
    public const double DefaultTolerance = 1e-9;
    public const int DefaultMaxStates = 2_000_000;

    private MixedStatePresentation(
        Process process,
        int depth,
        double tolerance,
        double[] beliefs,
        int[] firstDepth,
        int[] next,
        double[] nextProbability,
        bool[] expanded)
    {
        Process = process;
        Depth = depth;
        Tolerance = tolerance;
        Beliefs = beliefs;
        FirstDepth = firstDepth;
        Next = next;
        NextProbability = nextProbability;
        Expanded = expanded;
        IsComplete = expanded.All(e => e);
        Kinds = Classify();
        MyopicEntropies = ComputeMyopicEntropies();
        ComputeStationary();
    }

    public Process Process { get; }

    /// <summary>The depth limit of the search.</summary>
    public int Depth { get; }

    public double Tolerance { get; }

    public int StateCount => FirstDepth.Length;

    /// <summary>Flat <c>[StateCount][S]</c>; state 0 is the initial belief.</summary>
    public double[] Beliefs { get; }

    /// <summary>The shortest prefix length that reaches each state.</summary>
    public int[] FirstDepth { get; }

    /// <summary>Flat <c>[StateCount][V]</c>: the state reached by each token, or −1 (zero probability or not expanded).</summary>
    public int[] Next { get; }

    /// <summary>Flat <c>[StateCount][V]</c>: <c>P(x | state)</c> (0 where <see cref="Next"/> is −1).</summary>
    public double[] NextProbability { get; }

    /// <summary>Whether the state's outgoing transitions were computed (false only at the depth limit).</summary>
    public bool[] Expanded { get; }

    /// <summary>True when every reachable belief was found: the MSP is finite.</summary>
    public bool IsComplete { get; }

    public MspStateKind[] Kinds { get; }

    /// <summary>h(L) for L = 1..Depth (index 0 holds h(1)), in nats.</summary>
    public double[] MyopicEntropies { get; }

    /// <summary>Long-run probability of each state (0 for transient ones), when the recurrent part is resolved.</summary>
    public double[]? StationaryDistribution { get; private set; }

    /// <summary>Exact entropy rate Σ π(s) H[X | s] from the recurrent MSP, when it is finite.</summary>
    public double? ExactEntropyRate { get; private set; }

    /// <summary>Statistical complexity H[π] over recurrent MSP states, when finite.</summary>
    public double? StatisticalComplexity { get; private set; }

    public int RecurrentCount => Kinds.Count(k => k == MspStateKind.Recurrent);

    public int TransientCount => Kinds.Count(k => k == MspStateKind.Transient);

    public ReadOnlySpan<double> Belief(int state) => Beliefs.AsSpan(state * Process.StateCount, Process.StateCount);

    /// <summary>Block entropies H(L) = Σ_{l≤L} h(l) for L = 0..Depth.</summary>
    public double[] BlockEntropies()
    {
        var block = new double[Depth + 1];
        for (int l = 1; l <= Depth; l++)
        {
            block[l] = block[l - 1] + MyopicEntropies[l - 1];
        }

        return block;
    }

    /// <summary>The entropy rate: exact when the recurrent MSP is finite, otherwise h(Depth), the last myopic entropy.</summary>
    public double EntropyRate => ExactEntropyRate ?? (Depth > 0 ? MyopicEntropies[Depth - 1] : double.NaN);

    /// <summary>Excess entropy estimate Σ_{L=1..Depth} (h(L) − hμ) = H(Depth) − Depth·hμ.</summary>
    public double ExcessEntropy
    {
        get
        {
            double rate = EntropyRate;
            double sum = 0;
            for (int l = 0; l < Depth; l++)
            {
                sum += MyopicEntropies[l] - rate;
            }

            return sum;
        }
    }

    /// <summary>
    /// The loss floor per position of a model with context <paramref name="contextLength"/>: position t reads tokens
    /// 0..t and predicts token t+1, so it cannot beat h(t+2) (see <see cref="Core.LossFloor"/>). Needs Depth ≥ contextLength + 1.
    /// </summary>
    public double[] LossFloor(int contextLength) => Core.LossFloor.PerPosition(MyopicEntropies, contextLength);

    public static MixedStatePresentation Build(Process process, int depth, double tolerance = DefaultTolerance, int maxStates = DefaultMaxStates)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (depth < 0)
        {
            throw new BeliefLensInputException($"depth: {depth} is negative; give a prefix length of 0 or more.");
        }

        if (!(tolerance > 0) || !double.IsFinite(tolerance))
        {
            throw new BeliefLensInputException($"tolerance: {tolerance} must be a positive number.");
        }

        int s = process.StateCount;
        int v = process.VocabSize;
        var index = new BeliefIndex(s, tolerance);
        var beliefs = new List<double>(process.InitialBelief);
        var firstDepth = new List<int> { 0 };
        var next = new List<int>();
        var nextProbability = new List<double>();
        index.Add(process.InitialBelief, 0);
        var t = process.Transitions;
        var tau = process.Tau;
        var belief = new double[s];
        var joint = new double[s];
        var candidate = new double[s];
        int expandedCount = 0;

        // Breadth-first: states are created in order of first depth, so expanding in index order is level order.
        while (expandedCount < firstDepth.Count && firstDepth[expandedCount] < depth)
        {
            int state = expandedCount++;
            int offset = state * s;
            CollectionsMarshal.AsSpan(beliefs).Slice(offset, s).CopyTo(belief); // the list may regrow below
            for (int x = 0; x < v; x++)
            {
                double p = BeliefMath.Propagate(t, tau, belief, x, joint);
                if (BeliefMath.IsZero(p))
                {
                    next.Add(-1);
                    nextProbability.Add(0);
                    continue;
                }

                BeliefMath.Normalise(joint, p, candidate);
                int target = index.Find(candidate, beliefs);
                if (target < 0)
                {
                    target = firstDepth.Count;
                    if (target >= maxStates)
                    {
                        throw new BeliefLensInputException(
                            $"depth: the MSP of {process.Name} exceeds {maxStates:N0} states by depth {firstDepth[state] + 1}; use a smaller depth.");
                    }

                    beliefs.AddRange(candidate);
                    firstDepth.Add(firstDepth[state] + 1);
                    index.Add(candidate, target);
                }

                next.Add(target);
                nextProbability.Add(p);
            }
        }

        int n = firstDepth.Count;
        var expanded = new bool[n];
        for (int k = 0; k < expandedCount; k++)
        {
            expanded[k] = true;
        }

        for (int k = expandedCount; k < n; k++)
        {
            for (int x = 0; x < v; x++)
            {
                next.Add(-1);
                nextProbability.Add(0);
            }
        }

        return new MixedStatePresentation(process, depth, tolerance, [.. beliefs], [.. firstDepth], [.. next], [.. nextProbability], expanded);
    }

    private double StateEntropy(int state) =>
        BeliefMath.Entropy(NextProbability.AsSpan(state * Process.VocabSize, Process.VocabSize));

    private double[] ComputeMyopicEntropies()
    {
        int n = StateCount;
        int v = Process.VocabSize;
        var h = new double[Depth];
        var current = new double[n];
        var following = new double[n];
        current[0] = 1;
        for (int d = 0; d < Depth; d++)
        {
            Array.Clear(following);
            for (int state = 0; state < n; state++)
            {
                double weight = current[state];
                if (weight == 0)
                {
                    continue;
                }

                Core.LossFloor.Add(h, d, weight, NextProbability.AsSpan(state * v, v));
                for (int x = 0; x < v; x++)
                {
                    int target = Next[state * v + x];
                    if (target >= 0)
                    {
                        following[target] += weight * NextProbability[state * v + x];
                    }
                }
            }

            (current, following) = (following, current);
        }

        return h;
    }

    // Tarjan's algorithm (iterative); a component is recurrent when closed and fully expanded.
    private MspStateKind[] Classify()
    {
        int n = StateCount;
        int v = Process.VocabSize;
        var component = new int[n];
        Array.Fill(component, -1);
        var lowLink = new int[n];
        var order = new int[n];
        Array.Fill(order, -1);
        var onStack = new bool[n];
        var stack = new Stack<int>();
        var work = new Stack<(int State, int Edge)>();
        int counter = 0;
        int components = 0;
        for (int root = 0; root < n; root++)
        {
            if (order[root] >= 0)
            {
                continue;
            }

            work.Push((root, 0));
            order[root] = lowLink[root] = counter++;
            stack.Push(root);
            onStack[root] = true;
            while (work.Count > 0)
            {
                var (state, edge) = work.Pop();
                if (edge < v)
                {
                    work.Push((state, edge + 1));
                    int target = Next[state * v + edge];
                    if (target < 0)
                    {
                        continue;
                    }

                    if (order[target] < 0)
                    {
                        order[target] = lowLink[target] = counter++;
                        stack.Push(target);
                        onStack[target] = true;
                        work.Push((target, 0));
                    }
                    else if (onStack[target])
                    {
                        lowLink[state] = Math.Min(lowLink[state], order[target]);
                    }

                    continue;
                }

                if (lowLink[state] == order[state])
                {
                    int member;
                    do
                    {
                        member = stack.Pop();
                        onStack[member] = false;
                        component[member] = components;
                    }
                    while (member != state);
                    components++;
                }

                if (work.Count > 0)
                {
                    int parent = work.Peek().State;
                    lowLink[parent] = Math.Min(lowLink[parent], lowLink[state]);
                }
            }
        }

        var closed = Enumerable.Repeat(true, components).ToArray();
        for (int state = 0; state < n; state++)
        {
            if (!Expanded[state])
            {
                closed[component[state]] = false;
                continue;
            }

            for (int x = 0; x < v; x++)
            {
                int target = Next[state * v + x];
                if (target >= 0 && component[target] != component[state])
                {
                    closed[component[state]] = false;
                }
            }
        }

        ComponentOf = component;
        var kinds = new MspStateKind[n];
        for (int state = 0; state < n; state++)
        {
            kinds[state] = closed[component[state]] ? MspStateKind.Recurrent : IsComplete ? MspStateKind.Transient : MspStateKind.Unresolved;
        }

        return kinds;
    }

    private int[] ComponentOf { get; set; } = [];

    private void ComputeStationary()
    {
        int n = StateCount;
        int v = Process.VocabSize;
        if (RecurrentCount == 0)
        {
            return;
        }

        // Weight of each closed class: the probability of ending up in it from the initial belief.
        var recurrentComponents = Enumerable.Range(0, n).Where(k => Kinds[k] == MspStateKind.Recurrent).Select(k => ComponentOf[k]).Distinct().ToArray();
        var classWeight = new Dictionary<int, double>();
        var mass = new double[n];
        var following = new double[n];
        mass[0] = 1;
        double moving = 1;
        double stuck = 0;
        for (int step = 0; step < 1_000_000 && moving > 1e-16; step++)
        {
            Array.Clear(following);
            for (int state = 0; state < n; state++)
            {
                double m = mass[state];
                if (m == 0)
                {
                    continue;
                }

                // Recurrent states keep their mass (only class totals matter); unexpanded states hold theirs as unknown.
                if (Kinds[state] == MspStateKind.Recurrent || !Expanded[state])
                {
                    following[state] += m;
                    continue;
                }

                for (int x = 0; x < v; x++)
                {
                    int target = Next[state * v + x];
                    if (target >= 0)
                    {
                        following[target] += m * NextProbability[state * v + x];
                    }
                }
            }

            (mass, following) = (following, mass);
            moving = 0;
            stuck = 0;
            for (int state = 0; state < n; state++)
            {
                if (Kinds[state] != MspStateKind.Recurrent)
                {
                    if (Expanded[state])
                    {
                        moving += mass[state];
                    }
                    else
                    {
                        stuck += mass[state];
                    }
                }
            }
        }

        double outside = moving + stuck;
        if (outside > 1e-9)
        {
            return; // probability mass still in unresolved states: the long run is not determined by this truncation
        }

        foreach (int c in recurrentComponents)
        {
            classWeight[c] = 0;
        }

        for (int state = 0; state < n; state++)
        {
            if (Kinds[state] == MspStateKind.Recurrent)
            {
                classWeight[ComponentOf[state]] += mass[state];
            }
        }

        var stationary = new double[n];
        foreach (int c in recurrentComponents)
        {
            var members = Enumerable.Range(0, n).Where(k => ComponentOf[k] == c).ToArray();
            var local = ClassStationary(members);
            double total = classWeight.Values.Sum();
            for (int k = 0; k < members.Length; k++)
            {
                stationary[members[k]] = local[k] * classWeight[c] / total;
            }
        }

        StationaryDistribution = stationary;
        double rate = 0;
        double complexity = 0;
        for (int state = 0; state < n; state++)
        {
            double p = stationary[state];
            if (p > 0)
            {
                rate += p * StateEntropy(state);
                complexity -= p * Math.Log(p);
            }
        }

        ExactEntropyRate = rate;
        StatisticalComplexity = complexity;
    }

    /// <summary>
    /// Each recurrent state's probability within its own closed class (each class sums to 1; 0 elsewhere). Exact even
    /// when the search was truncated, unlike <see cref="StationaryDistribution"/>, which also needs the class weights.
    /// </summary>
    public double[] StationaryWithinClasses()
    {
        var within = new double[StateCount];
        foreach (int c in Enumerable.Range(0, StateCount).Where(k => Kinds[k] == MspStateKind.Recurrent).Select(k => ComponentOf[k]).Distinct())
        {
            var members = Enumerable.Range(0, StateCount).Where(k => ComponentOf[k] == c).ToArray();
            var local = ClassStationary(members);
            for (int k = 0; k < members.Length; k++)
            {
                within[members[k]] = local[k];
            }
        }

        return within;
    }

    // Stationary distribution of one closed class by power iteration on the lazy chain (aperiodic, same fixed point).
    private double[] ClassStationary(int[] members)
    {
        int v = Process.VocabSize;
        var local = new Dictionary<int, int>();
        for (int k = 0; k < members.Length; k++)
        {
            local[members[k]] = k;
        }

        int m = members.Length;
        var p = Enumerable.Repeat(1.0 / m, m).ToArray();
        var q = new double[m];
        for (int iteration = 0; iteration < 1_000_000; iteration++)
        {
            for (int k = 0; k < m; k++)
            {
                q[k] = 0.5 * p[k];
            }

            for (int k = 0; k < m; k++)
            {
                int state = members[k];
                for (int x = 0; x < v; x++)
                {
                    int target = Next[state * v + x];
                    if (target >= 0)
                    {
                        q[local[target]] += 0.5 * p[k] * NextProbability[state * v + x];
                    }
                }
            }

            double change = 0;
            double sum = q.Sum();
            for (int k = 0; k < m; k++)
            {
                q[k] /= sum;
                change += Math.Abs(q[k] - p[k]);
            }

            (p, q) = (q, p);
            if (change < 1e-15)
            {
                break;
            }
        }

        return p;
    }

    /// <summary>Finds stored beliefs within a max-abs tolerance via a hash grid of cells 64× the tolerance.</summary>
    private sealed class BeliefIndex(int dimension, double tolerance)
    {
        private readonly double _cell = 64 * tolerance;
        private readonly Dictionary<long, List<int>> _cells = [];
        private readonly long[] _coordinates = new long[dimension];

        public void Add(ReadOnlySpan<double> belief, int id)
        {
            for (int i = 0; i < dimension; i++)
            {
                _coordinates[i] = (long)Math.Floor(belief[i] / _cell);
            }

            long key = Hash(_coordinates);
            if (!_cells.TryGetValue(key, out var list))
            {
                _cells[key] = list = [];
            }

            list.Add(id);
        }

        public int Find(ReadOnlySpan<double> belief, List<double> stored)
        {
            Span<int> nearEdge = stackalloc int[Math.Min(dimension, 64)];
            int edges = 0;
            for (int i = 0; i < dimension; i++)
            {
                double scaled = belief[i] / _cell;
                double floor = Math.Floor(scaled);
                _coordinates[i] = (long)floor;
                double fraction = scaled - floor;
                if ((fraction < 1.0 / 64 || fraction > 63.0 / 64) && edges < Math.Min(12, nearEdge.Length))
                {
                    nearEdge[edges++] = fraction < 0.5 ? -(i + 1) : i + 1;
                }
            }

            // Check the home cell and every combination of neighbouring cells across near-edge coordinates.
            for (int mask = 0; mask < (1 << edges); mask++)
            {
                var shifted = (long[])_coordinates.Clone();
                for (int e = 0; e < edges; e++)
                {
                    if ((mask & (1 << e)) != 0)
                    {
                        int code = nearEdge[e];
                        shifted[Math.Abs(code) - 1] += code < 0 ? -1 : 1;
                    }
                }

                if (!_cells.TryGetValue(Hash(shifted), out var list))
                {
                    continue;
                }

                foreach (int id in list)
                {
                    bool close = true;
                    for (int i = 0; i < dimension && close; i++)
                    {
                        close = Math.Abs(stored[id * dimension + i] - belief[i]) <= tolerance;
                    }

                    if (close)
                    {
                        return id;
                    }
                }
            }

            return -1;
        }

        private static long Hash(long[] coordinates)
        {
            ulong h = 14695981039346656037UL;
            foreach (long c in coordinates)
            {
                h = (h ^ (ulong)c) * 1099511628211UL;
                h ^= h >> 29;
            }

            return (long)h;
        }
    }
}
