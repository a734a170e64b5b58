namespace BeliefLens.Core;

/// <summary>
/// Every nonzero-probability prefix of length 0..Depth with its exact log-probability and belief,
/// stored flat in breadth-first order (all prefixes of length d precede those of length d+1).
/// Memory is linear in the number of prefixes.
/// </summary>
public sealed class BeliefTree
{
    /// <summary>|P(x|b)| below this is an exact zero lost to cancellation; such branches are not extended.</summary>
    public const double ZeroProbabilityTolerance = 1e-12;

    /// <summary>Refuse enumerations beyond this many prefixes (about 2 GiB for 3 states).</summary>
    public const long MaxPrefixes = 80_000_000;

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
        double bound = 0;
        for (int d = 0; d <= depth && bound <= MaxPrefixes; d++)
        {
            bound += Math.Pow(v, d);
        }

        int capacity = (int)Math.Min(bound, 1 << 20);
        var parent = new List<int>(capacity) { -1 };
        var token = new List<int>(capacity) { -1 };
        var logProbability = new List<double>(capacity) { 0.0 };
        var beliefs = new List<double>(capacity * s);
        beliefs.AddRange(process.InitialBelief);
        var depthStart = new int[depth + 2];
        var tau = process.Tau;
        var t = process.Transitions;
        var next = new double[s];
        for (int d = 0; d < depth; d++)
        {
            int start = depthStart[d];
            int end = parent.Count;
            depthStart[d + 1] = end;
            for (int node = start; node < end; node++)
            {
                int beliefOffset = node * s;
                for (int x = 0; x < v; x++)
                {
                    double p = 0;
                    for (int j = 0; j < s; j++)
                    {
                        double sum = 0;
                        for (int i = 0; i < s; i++)
                        {
                            sum += beliefs[beliefOffset + i] * t[((x * s) + i) * s + j];
                        }

                        next[j] = sum;
                        p += sum * tau[j];
                    }

                    if (p < ZeroProbabilityTolerance)
                    {
                        continue;
                    }

                    if (parent.Count >= MaxPrefixes)
                    {
                        throw new BeliefLensInputException(
                            $"depth: {depth} needs more than {MaxPrefixes:N0} prefixes, too many for memory; use a smaller depth.");
                    }

                    parent.Add(node);
                    token.Add(x);
                    logProbability.Add(logProbability[node] + Math.Log(p));
                    for (int j = 0; j < s; j++)
                    {
                        beliefs.Add(next[j] / p);
                    }
                }
            }
        }

        depthStart[depth + 1] = parent.Count;
        return new BeliefTree(process, depth, parent.ToArray(), token.ToArray(), logProbability.ToArray(), beliefs.ToArray(), depthStart);
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

    /// <summary>Myopic entropies h(L) = H(L) − H(L−1) for L = 1..Depth (index 0 holds h(1)).</summary>
    public double[] MyopicEntropies()
    {
        var block = BlockEntropies();
        var h = new double[Depth];
        for (int d = 1; d <= Depth; d++)
        {
            h[d - 1] = block[d] - block[d - 1];
        }

        return h;
    }
}
