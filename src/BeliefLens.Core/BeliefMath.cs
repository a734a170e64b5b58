namespace BeliefLens.Core;

/// <summary>
/// The one Bayesian belief update and the one next-token distribution of BeliefLens. The tree, the MSP, the sampler,
/// validation and the probe inputs all call these, so they agree bit for bit on the same prefix.
/// <para>For belief <c>b</c> (with <c>b·τ = 1</c>) and token <c>x</c>: <c>P(x|b) = b T[x] τ</c> and
/// <c>b' = b T[x] / P(x|b)</c>.</para>
/// </summary>
public static class BeliefMath
{
    /// <summary>
    /// A branch with <c>P(x|b) = bT[x]τ</c> below this counts as probability zero. An exact zero (a forbidden word such
    /// as <c>11</c> in the golden mean process) comes out of the float64 sum as 0, or for a GHMM, whose terms can cancel,
    /// as a residue of a few ulps of the terms (~1e-16); every real branch probability the built-in processes and
    /// the tree's depth limits produce is many orders above 1e-12. A zero branch is not extended, is never sampled,
    /// and gets probability 0 in the next-token distribution. A GHMM value below −1e-12 is a real negative
    /// probability: an invalid process, reported by <see cref="BeliefTree.Enumerate"/>.
    /// </summary>
    public const double ZeroProbabilityTolerance = 1e-12;

    /// <summary>Whether <paramref name="probability"/> counts as zero under <see cref="ZeroProbabilityTolerance"/>.</summary>
    public static bool IsZero(double probability) => probability < ZeroProbabilityTolerance;

    /// <summary>
    /// The kernel: writes the unnormalised <c>bT[x]</c> to <paramref name="next"/> and returns the raw <c>bT[x]τ</c>
    /// (for a GHMM it may be a tiny negative residue; see <see cref="ZeroProbabilityTolerance"/>).
    /// <paramref name="transitions"/> is the flat <c>[V][S][S]</c> of <see cref="Process.Transitions"/>.
    /// </summary>
    public static double Propagate(ReadOnlySpan<double> transitions, ReadOnlySpan<double> tau, ReadOnlySpan<double> belief, int token, Span<double> next)
    {
        int s = tau.Length;
        var matrix = transitions.Slice(token * s * s, s * s);
        double probability = 0;
        for (int j = 0; j < s; j++)
        {
            double sum = 0;
            for (int i = 0; i < s; i++)
            {
                sum += belief[i] * matrix[(i * s) + j];
            }

            next[j] = sum;
            probability += sum * tau[j];
        }

        return probability;
    }

    /// <summary>Scales the unnormalised <paramref name="joint"/> = <c>bT[x]</c> by <c>1/P(x|b)</c> into <paramref name="belief"/>.</summary>
    public static void Normalise(ReadOnlySpan<double> joint, double probability, Span<double> belief)
    {
        double inverse = 1 / probability;
        for (int j = 0; j < joint.Length; j++)
        {
            belief[j] = joint[j] * inverse;
        }
    }

    /// <summary>
    /// One Bayesian update: writes <c>b' = bT[x] / P(x|b)</c> to <paramref name="next"/> and returns <c>P(x|b)</c>.
    /// When the token has probability zero (<see cref="IsZero"/>) it returns exactly 0 and <paramref name="next"/> is
    /// all zeros: no hidden state is consistent with the prefix, so there is no belief. <paramref name="next"/> must not
    /// overlap <paramref name="belief"/>.
    /// </summary>
    public static double Update(Process process, ReadOnlySpan<double> belief, int token, Span<double> next)
    {
        ArgumentNullException.ThrowIfNull(process);
        CheckToken(process, token);
        var joint = next[..process.StateCount];
        double probability = Propagate(process.Transitions, process.Tau, belief, token, joint);
        if (IsZero(probability))
        {
            joint.Clear();
            return 0;
        }

        Normalise(joint, probability, joint);
        return probability;
    }

    /// <summary>
    /// <c>P(x|b)</c> for every token into <paramref name="distribution"/> (length V): zero-probability branches are exactly
    /// 0 and the rest are renormalised to sum to 1 (removing rounding drift in <c>b·τ</c> and the dropped residues).
    /// </summary>
    public static void NextTokenDistribution(Process process, ReadOnlySpan<double> belief, Span<double> distribution)
    {
        ArgumentNullException.ThrowIfNull(process);
        int s = process.StateCount;
        Span<double> joint = s <= 128 ? stackalloc double[s] : new double[s];
        double total = 0;
        for (int x = 0; x < process.VocabSize; x++)
        {
            double p = Propagate(process.Transitions, process.Tau, belief, x, joint);
            p = IsZero(p) ? 0 : p;
            distribution[x] = p;
            total += p;
        }

        for (int x = 0; x < process.VocabSize; x++)
        {
            distribution[x] /= total;
        }
    }

    /// <summary>The next-token distribution as a new array.</summary>
    public static double[] NextTokenDistribution(Process process, ReadOnlySpan<double> belief)
    {
        ArgumentNullException.ThrowIfNull(process);
        var distribution = new double[process.VocabSize];
        NextTokenDistribution(process, belief, distribution);
        return distribution;
    }

    /// <summary>Shannon entropy <c>−Σ p ln p</c> in nats, over the nonzero entries.</summary>
    public static double Entropy(ReadOnlySpan<double> distribution)
    {
        double h = 0;
        foreach (double p in distribution)
        {
            if (p > 0)
            {
                h -= p * Math.Log(p);
            }
        }

        return h;
    }

    private static void CheckToken(Process process, int token)
    {
        if ((uint)token >= (uint)process.VocabSize)
        {
            throw new BeliefLensInputException($"token: {token} is not in 0..{process.VocabSize - 1}; use a token of {process.Name}.");
        }
    }
}
