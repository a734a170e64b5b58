using System.Globalization;

namespace BeliefLens.Core;

/// <summary>
/// The classical Markov-order-M approximation of a process (the control of the quantum paper, Riechers, Elliott &amp;
/// Shai 2025): an HMM whose states are the length-M words w with P(w) &gt; <see cref="WordThreshold"/>, with transitions
/// w → w[1:]x emitting x with probability P(wx)/P(w); entries below <see cref="EntryThreshold"/> are dropped and each
/// row is renormalised. It starts in the stationary word distribution P(w), so its belief after k ≥ M tokens is the
/// point mass on the last M tokens, and before that the posterior over the words ending in what has been seen.
/// Word probabilities come from <see cref="BeliefTree"/> (exact, log space), so GHMMs are handled like HMMs.
/// </summary>
public static class MarkovApproximation
{
    /// <summary>Words at most this probable are not states.</summary>
    public const double WordThreshold = 1e-13;

    /// <summary>Transition probabilities below this are dropped (before renormalising the row).</summary>
    public const double EntryThreshold = 1e-9;

    /// <summary>The largest order accepted (V^M words are enumerated).</summary>
    public const int MaxStates = 1 << 16;

    public static Process Create(Process process, int order)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (order < 1)
        {
            throw new BeliefLensInputException($"markov_order: {order} is invalid; use an order of 1 or more (paper: 3).");
        }

        if (Math.Pow(process.VocabSize, order) > MaxStates)
        {
            throw new BeliefLensInputException(
                $"markov_order: {order} gives up to {process.VocabSize}^{order} words, over {MaxStates:N0}; use a smaller order.");
        }

        int v = process.VocabSize;
        var tree = BeliefTree.Enumerate(process, order + 1);

        // Word probabilities at lengths M and M+1, keyed by the word's base-V code (oldest token most significant).
        var wordProbability = new Dictionary<long, double>();
        var extended = new Dictionary<long, double>();
        for (int node = tree.DepthStart[order]; node < tree.DepthStart[order + 2]; node++)
        {
            bool isWord = node < tree.DepthStart[order + 1];
            long code = Code(tree.Prefix(node), v);
            (isWord ? wordProbability : extended)[code] = Math.Exp(tree.LogProbability[node]);
        }

        var states = wordProbability.Where(pair => pair.Value > WordThreshold).Select(pair => pair.Key).Order().ToArray();
        if (states.Length == 0)
        {
            throw new BeliefLensInputException($"markov_order: no word of length {order} has probability above {WordThreshold}.");
        }

        var stateIndex = new Dictionary<long, int>();
        for (int i = 0; i < states.Length; i++)
        {
            stateIndex[states[i]] = i;
        }

        long shift = (long)Math.Pow(v, order - 1);
        int s = states.Length;
        var t = new double[v][][];
        for (int x = 0; x < v; x++)
        {
            t[x] = new double[s][];
            for (int i = 0; i < s; i++)
            {
                t[x][i] = new double[s];
            }
        }

        for (int i = 0; i < s; i++)
        {
            long w = states[i];
            double pw = wordProbability[w];
            double rowSum = 0;
            for (int x = 0; x < v; x++)
            {
                double pwx = extended.GetValueOrDefault((w * v) + x);
                double entry = pwx / pw;
                long next = ((w % shift) * v) + x;
                if (entry < EntryThreshold || !stateIndex.TryGetValue(next, out int j))
                {
                    continue;
                }

                t[x][i][j] = entry;
                rowSum += entry;
            }

            if (rowSum == 0)
            {
                throw new BeliefLensInputException($"markov_order: word {Word(w, order, process)} has no continuation above {EntryThreshold}; use a smaller order.");
            }

            for (int x = 0; x < v; x++)
            {
                for (int j = 0; j < s; j++)
                {
                    t[x][i][j] /= rowSum;
                }
            }
        }

        double total = states.Sum(w => wordProbability[w]);
        var initial = states.Select(w => wordProbability[w] / total).ToArray();
        var names = states.Select(w => Word(w, order, process)).ToArray();
        string name = string.Create(CultureInfo.InvariantCulture, $"markov{order}({process.Name})");
        return Process.Create(name, ProcessKind.Hmm, t, initial, process.TokenNames, names);
    }

    private static long Code(int[] word, int v)
    {
        long code = 0;
        foreach (int x in word)
        {
            code = (code * v) + x;
        }

        return code;
    }

    private static string Word(long code, int order, Process process)
    {
        var tokens = new string[order];
        for (int i = order - 1; i >= 0; i--)
        {
            tokens[i] = process.TokenNames[(int)(code % process.VocabSize)];
            code /= process.VocabSize;
        }

        return string.Concat(tokens);
    }
}
