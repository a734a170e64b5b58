using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// The inputs of a probe, independent of any model: N token sequences of length n and, for each row
/// (sequence s, position j; row = s·n + j), the belief after tokens 0..j inclusive, the true next-token
/// distribution P(x | that belief), a prefix id shared by equal prefixes and P(prefix).
/// Exhaustive: every nonzero-probability sequence of length n, in BeliefTree (BFS) order. Sampled: a seeded
/// sample from the process, used when the sequence space is too large.
/// </summary>
public sealed class ProbeInputs
{
    private ProbeInputs(Process process, int length, int[] tokens, DenseMatrix beliefs, DenseMatrix nextToken, long[] prefixIds, double[] prefixProbabilities, bool exhaustive)
    {
        Process = process;
        Length = length;
        Tokens = tokens;
        Beliefs = beliefs;
        NextToken = nextToken;
        PrefixIds = prefixIds;
        PrefixProbabilities = prefixProbabilities;
        IsExhaustive = exhaustive;
    }

    public Process Process { get; }

    /// <summary>Sequence length n (the model's context).</summary>
    public int Length { get; }

    /// <summary>Flat [N, n] tokens.</summary>
    public int[] Tokens { get; }

    public int Sequences => Tokens.Length / Length;

    public int Rows => Tokens.Length;

    /// <summary>[N·n, S] beliefs after tokens 0..j (float64, unrounded).</summary>
    public DenseMatrix Beliefs { get; }

    /// <summary>[N·n, V] P(next token | tokens 0..j).</summary>
    public DenseMatrix NextToken { get; }

    public long[] PrefixIds { get; }

    public double[] PrefixProbabilities { get; }

    /// <summary>True when every nonzero-probability sequence is present exactly once.</summary>
    public bool IsExhaustive { get; }

    /// <summary>
    /// Every nonzero-probability sequence of length <paramref name="length"/> when there are at most
    /// <paramref name="maxSequences"/> of them (upper bound V^n), otherwise <paramref name="maxSequences"/> seeded samples.
    /// </summary>
    public static ProbeInputs Build(Process process, int length, long maxSequences = 1 << 20, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (length < 1)
        {
            throw new BeliefLensInputException($"length: {length} is invalid; give the model's context length (≥ 1).");
        }

        if (maxSequences < 1 || maxSequences > int.MaxValue / length)
        {
            throw new BeliefLensInputException($"max_sequences: {maxSequences} is invalid; give 1..{int.MaxValue / length}.");
        }

        return BeliefTree.UpperBound(process.VocabSize, length) <= maxSequences
            ? Exhaustive(process, length)
            : Sampled(process, length, (int)maxSequences, seed);
    }

    /// <summary>Every nonzero-probability sequence, from the belief tree at depth n; prefix id = tree node index.</summary>
    public static ProbeInputs Exhaustive(Process process, int length)
    {
        var tree = BeliefTree.Enumerate(process, length);
        int first = tree.DepthStart[length], count = tree.DepthStart[length + 1] - first;
        int s = process.StateCount, v = process.VocabSize;
        var tokens = new int[count * length];
        var beliefs = new double[(long)count * length * s];
        var next = new double[(long)count * length * v];
        var ids = new long[count * length];
        var probabilities = new double[count * length];
        var nodeNext = new Dictionary<int, double[]>();
        for (int q = 0; q < count; q++)
        {
            int node = first + q;
            for (int j = length - 1; j >= 0; j--, node = tree.Parent[node])
            {
                int row = q * length + j;
                tokens[row] = tree.Token[node];
                ids[row] = node;
                probabilities[row] = Math.Exp(tree.LogProbability[node]);
                tree.Belief(node).CopyTo(beliefs.AsSpan(row * s, s));
                if (!nodeNext.TryGetValue(node, out var p))
                {
                    p = NextTokenDistribution(process, tree.Belief(node));
                    nodeNext[node] = p;
                }

                p.CopyTo(next.AsSpan(row * v, v));
            }
        }

        return new ProbeInputs(process, length, tokens, new DenseMatrix(beliefs, count * length, s), new DenseMatrix(next, count * length, v), ids, probabilities, true);
    }

    /// <summary>Seeded samples from the process; beliefs by exact float64 updates, probabilities in log space.</summary>
    public static ProbeInputs Sampled(Process process, int length, int count, ulong seed)
    {
        var rng = new Rng(seed ^ 0x9B0B_E5EEUL);
        var tokens = new int[count * length];
        new ProcessSampler(process).Sample(rng, tokens, count, length);
        int s = process.StateCount, v = process.VocabSize;
        var beliefs = new double[(long)count * length * s];
        var next = new double[(long)count * length * v];
        var probabilities = new double[count * length];
        var belief = new double[s];
        var updated = new double[s];
        for (int q = 0; q < count; q++)
        {
            Array.Copy(process.InitialBelief, belief, s);
            double logP = 0;
            for (int j = 0; j < length; j++)
            {
                int row = q * length + j, x = tokens[row];
                logP += Math.Log(BeliefMath.Update(process, belief, x, updated));
                updated.CopyTo(belief, 0);

                probabilities[row] = Math.Exp(logP);
                belief.CopyTo(beliefs.AsSpan(row * s, s));
                NextTokenDistribution(process, belief).CopyTo(next.AsSpan(row * v, v));
            }
        }

        var sequences = Enumerable.Range(0, count).Select(q => tokens.AsSpan(q * length, length).ToArray()).ToList();
        var ids = ProbeSplits.PrefixIds(sequences).SelectMany(r => r).ToArray();
        return new ProbeInputs(process, length, tokens, new DenseMatrix(beliefs, count * length, s), new DenseMatrix(next, count * length, v), ids, probabilities, false);
    }

    /// <summary>P(x | η), the one next-token distribution of <see cref="BeliefMath.NextTokenDistribution(Process, ReadOnlySpan{double})"/>.</summary>
    public static double[] NextTokenDistribution(Process process, ReadOnlySpan<double> belief) => BeliefMath.NextTokenDistribution(process, belief);

    /// <summary>Beliefs rounded to <paramref name="decimals"/> places (the paper rounds its targets to 5), or unrounded when null.</summary>
    public DenseMatrix TargetBeliefs(int? decimals)
    {
        if (decimals is null)
        {
            return Beliefs;
        }

        if (decimals is < 0 or > 15)
        {
            throw new BeliefLensInputException($"round: {decimals.Value.ToString(CultureInfo.InvariantCulture)} decimals is invalid; give 0..15 (the paper uses 5).");
        }

        return new DenseMatrix(Beliefs.Data.Select(b => Math.Round(b, decimals.Value, MidpointRounding.ToEven)).ToArray(), Beliefs.Rows, Beliefs.Cols);
    }

    /// <summary>Sequence id of each row.</summary>
    public int[] SequenceIds() => Enumerable.Range(0, Rows).Select(r => r / Length).ToArray();

    /// <summary>Position j of each row.</summary>
    public int[] Positions() => Enumerable.Range(0, Rows).Select(r => r % Length).ToArray();
}
