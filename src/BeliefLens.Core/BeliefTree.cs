namespace BeliefLens.Core;

/// <summary>
/// Every nonzero-probability prefix of length 0..Depth with its exact log-probability and belief,
/// stored flat in breadth-first order (all prefixes of length d precede those of length d+1).
/// Memory is linear in the number of prefixes.
/// </summary>
public sealed class BeliefTree
{
    /// <summary>Refuse enumerations beyond this many prefixes (about 2 GiB for 3 states).</summary>
    public const long MaxPrefixes = 80_000_000;

    /// <summary>Refuse enumerations whose arrays would exceed this many bytes.</summary>
    public const long MemoryBudgetBytes = 4L << 30;

    private BeliefTree(Process process, int depth, int[] parent, int[] token, double[] logProbability, double[] beliefs, int[] depthStart)
    {
        Process = process;
        Depth = depth;
        Parent = parent;
        Token = token;
        LogProbability = logProbability;
        Beliefs = beliefs;
        DepthStart = depthStart;
    }

    public Process Process { get; }
    public int Depth { get; }
    public int Count => Parent.Length;

    /// <summary>Index of each prefix's parent (−1 for the root).</summary>
    public int[] Parent { get; }

    /// <summary>The last token of each prefix (−1 for the root).</summary>
    public int[] Token { get; }

    public double[] LogProbability { get; }

    /// <summary>Flat <c>[Count][S]</c>.</summary>
    public double[] Beliefs { get; }

    /// <summary>Prefixes of length d occupy indices <c>DepthStart[d] .. DepthStart[d+1]-1</c>.</summary>
    public int[] DepthStart { get; }

    public ReadOnlySpan<double> Belief(int index) => Beliefs.AsSpan(index * Process.StateCount, Process.StateCount);

    /// <summary>The tokens of prefix <paramref name="index"/>, oldest first.</summary>
    public int[] Prefix(int index)
    {
        int length = 0;
        for (int k = index; Token[k] >= 0; k = Parent[k])
        {
            length++;
        }

        var tokens = new int[length];
        for (int k = index; Token[k] >= 0; k = Parent[k])
        {
            tokens[--length] = Token[k];
        }

        return tokens;
    }

    public static BeliefTree Enumerate(Process process, int depth)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (depth < 0)
        {
            throw new BeliefLensInputException($"depth: {depth} is negative; give a prefix length of 0 or more.");
        }

        int s = process.StateCount;
        int v = process.VocabSize;
        long limit = PrefixLimit(s);
        if (depth >= limit)
        {
            throw new BeliefLensInputException($"depth: {depth} needs more than {limit:N0} prefixes, too many for memory; use a smaller depth.");
        }

        // Σ V^d is exact when every branch has nonzero probability (e.g. Mess3), so allocate it once.
        double bound = UpperBound(v, depth);
        bool exactFit = bound <= limit;
        if (!exactFit && v > 1 && process.Transitions.All(value => value != 0))
        {
            // Every entry nonzero does not guarantee every P(x|b) > 0 for a GHMM, but it does for an HMM.
            if (process.Kind == ProcessKind.Hmm)
            {
                throw new BeliefLensInputException(
                    $"depth: {depth} needs {bound:0.##e+0} prefixes, over the {limit:N0} that fit in memory; use a smaller depth.");
            }
        }

        int capacity = (int)(exactFit ? bound : Math.Min(limit, 1 << 16));
        var parent = new int[capacity];
        var token = new int[capacity];
        var logProbability = new double[capacity];
        var beliefs = new double[(long)capacity * s];
        parent[0] = -1;
        token[0] = -1;
        process.InitialBelief.AsSpan().CopyTo(beliefs);
        var depthStart = new int[depth + 2];
        var tau = process.Tau;
        var t = process.Transitions;
        var next = new double[s];
        int count = 1;
        for (int d = 0; d < depth; d++)
        {
            int start = depthStart[d];
            int end = count;
            depthStart[d + 1] = end;
            if (!exactFit && d >= 6)
            {
                FailEarlyIfTooMany(depthStart, d, depth, limit);
            }
            for (int node = start; node < end; node++)
            {
                int beliefOffset = node * s;
                double parentLog = logProbability[node];
                var belief = beliefs.AsSpan(beliefOffset, s); // still valid if beliefs is regrown below: the old copy is only read
                for (int x = 0; x < v; x++)
                {
                    double p = BeliefMath.Propagate(t, tau, belief, x, next);
                    if (BeliefMath.IsZero(p))
                    {
                        if (p < -BeliefMath.ZeroProbabilityTolerance)
                        {
                            throw new BeliefLensInputException(
                                $"transitions: token {x} after prefix [{string.Join(' ', PrefixOf(parent, token, node))}] has probability {p:R} < 0; the GHMM is not a valid process.");
                        }

                        continue;
                    }

                    if (count == parent.Length)
                    {
                        if (count >= limit)
                        {
                            throw new BeliefLensInputException(
                                $"depth: {depth} needs more than {limit:N0} prefixes, too many for memory; use a smaller depth.");
                        }

                        int grown = (int)Math.Min(limit, 2L * count);
                        Array.Resize(ref parent, grown);
                        Array.Resize(ref token, grown);
                        Array.Resize(ref logProbability, grown);
                        Array.Resize(ref beliefs, grown * s);
                    }

                    parent[count] = node;
                    token[count] = x;
                    logProbability[count] = parentLog + Math.Log(p);
                    BeliefMath.Normalise(next, p, beliefs.AsSpan(count * s, s));
                    count++;
                }
            }
        }

        depthStart[depth + 1] = count;
        if (count != parent.Length)
        {
            Array.Resize(ref parent, count);
            Array.Resize(ref token, count);
            Array.Resize(ref logProbability, count);
            Array.Resize(ref beliefs, count * s);
        }

        return new BeliefTree(process, depth, parent, token, logProbability, beliefs, depthStart);
    }

    // Every live prefix has at least one live child, and branching tends to persist, so extrapolate with the smallest
    // growth ratio of the last six levels (never below 1) and refuse before allocating memory that will be exceeded anyway.
    private static void FailEarlyIfTooMany(int[] depthStart, int d, int depth, long limit)
    {
        double ratio = double.MaxValue;
        for (int k = d - 5; k <= d; k++)
        {
            double previous = depthStart[k] - depthStart[k - 1];
            double current = depthStart[k + 1] - depthStart[k];
            ratio = Math.Min(ratio, current / previous);
        }

        ratio = Math.Max(ratio, 1);
        double level = depthStart[d + 1] - depthStart[d];
        int remaining = depth - d;

        // Levels d+1..depth hold about level·r^k prefixes each (closed form: deep single-branch runs stay linear).
        double growth = ratio == 1 ? remaining : ratio * (Math.Pow(ratio, remaining) - 1) / (ratio - 1);
        double predicted = depthStart[d + 1] + (level * growth);

        // Early levels can branch faster than later ones, so only refuse when the estimate overshoots by far.
        const double margin = 16;
        if (predicted > margin * limit)
        {
            throw new BeliefLensInputException(
                $"depth: {depth} needs about {predicted:0.##e+0} prefixes or more (×{ratio:0.###} per token), over the {limit:N0} that fit in memory; use a smaller depth.");
        }
    }

    /// <summary>The most prefixes <see cref="Enumerate"/> will hold for <paramref name="stateCount"/> states.</summary>
    public static long PrefixLimit(int stateCount)
    {
        long bytesPerPrefix = (8L * stateCount) + 16;
        return Math.Min(MaxPrefixes, Math.Min(MemoryBudgetBytes / bytesPerPrefix, (long)Array.MaxLength / Math.Max(1, stateCount)));
    }

    /// <summary>Σ_{d=0..depth} V^d, the prefix count when no branch has probability zero (saturates above 1e18).</summary>
    public static double UpperBound(int vocabSize, int depth)
    {
        double bound = 0;
        double power = 1;
        for (int d = 0; d <= depth && bound < 1e18; d++)
        {
            bound += power;
            power *= vocabSize;
        }

        return bound;
    }

    private static int[] PrefixOf(int[] parent, int[] token, int index)
    {
        var tokens = new List<int>();
        for (int k = index; token[k] >= 0; k = parent[k])
        {
            tokens.Add(token[k]);
        }

        tokens.Reverse();
        return [.. tokens];
    }

    /// <summary>Block entropy H(L) = −Σ P(w) ln P(w) over words of length L, in nats, for L = 0..Depth.</summary>
    public double[] BlockEntropies()
    {
        var h = new double[Depth + 1];
        for (int d = 0; d <= Depth; d++)
        {
            double sum = 0;
            for (int k = DepthStart[d]; k < DepthStart[d + 1]; k++)
            {
                double lp = LogProbability[k];
                sum -= Math.Exp(lp) * lp;
            }

            h[d] = sum;
        }

        return h;
    }

    /// <summary>
    /// Myopic entropies h(L) = H(X_L | X_1..X_{L−1}) for L = 1..Depth (index 0 holds h(1)): the expected entropy of the
    /// next-token distribution over the prefixes of length L−1, accumulated by <see cref="LossFloor.Add"/> like every
    /// floor in BeliefLens. Equals H(L) − H(L−1) of <see cref="BlockEntropies"/> up to rounding.
    /// </summary>
    public double[] MyopicEntropies()
    {
        var h = new double[Depth];
        var distribution = new double[Process.VocabSize];
        for (int d = 0; d < Depth; d++)
        {
            for (int k = DepthStart[d]; k < DepthStart[d + 1]; k++)
            {
                BeliefMath.NextTokenDistribution(Process, Belief(k), distribution);
                LossFloor.Add(h, d, Math.Exp(LogProbability[k]), distribution);
            }
        }

        return h;
    }
}
