namespace BeliefLens.Core;

/// <summary>
/// The loss floor of a next-token predictor with context n_ctx. Training reads n_ctx + 1 tokens: at position t
/// (0-based) the model has seen tokens 0..t and predicts token t+1, so no model can beat
/// <c>floor[t] = H(X_{t+1} | X_0..X_t) = h(t+2)</c>, where <c>h(L) = H(X_L | X_1..X_{L−1})</c> is the myopic entropy
/// counted from L = 1. For the paper's Mess3 with n_ctx 10 the mean over positions is ≈0.8025 nats.
/// Every floor in BeliefLens is the expected entropy of the next-token distribution (<see cref="BeliefMath.Entropy"/>)
/// over the prefixes that reach a position, accumulated by <see cref="Add"/>: weighted by the MSP's state
/// probabilities it is h(L); weighted over a validation set it is that set's floor (exact when the set holds every
/// sequence with its probability).
/// </summary>
public static class LossFloor
{
    /// <summary>
    /// <c>floor[t] = h(t+2)</c> for t = 0..<paramref name="contextLength"/>−1 from myopic entropies h(1), h(2), …
    /// (index 0 holds h(1)); needs at least <paramref name="contextLength"/> + 1 of them.
    /// </summary>
    public static double[] PerPosition(ReadOnlySpan<double> myopicEntropies, int contextLength)
    {
        if (contextLength < 1 || contextLength + 1 > myopicEntropies.Length)
        {
            throw new BeliefLensInputException(
                $"context: {contextLength} must be in [1, {myopicEntropies.Length - 1}]; the floor of n_ctx tokens needs myopic entropies to depth n_ctx + 1 (raise --depth).");
        }

        return myopicEntropies.Slice(1, contextLength).ToArray();
    }

    /// <summary>The exact floor per position from the mixed-state presentation to depth n_ctx + 1.</summary>
    public static double[] Exact(Process process, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (contextLength < 1)
        {
            throw new BeliefLensInputException($"context: {contextLength} must be at least 1.");
        }

        return MixedStatePresentation.Build(process, contextLength + 1).LossFloor(contextLength);
    }

    /// <summary>Adds one prefix's share, <c>weight · H(P(· | prefix))</c>, to <paramref name="floor"/>[<paramref name="position"/>].</summary>
    public static void Add(Span<double> floor, int position, double weight, ReadOnlySpan<double> nextTokenDistribution) =>
        floor[position] += weight * BeliefMath.Entropy(nextTokenDistribution);

    /// <summary>
    /// The loss an ideal predictor approaches as the context grows: the entropy rate h_μ; for a non-ergodic mixture
    /// the weighted average of its components' rates, <c>Σ_c w_c h_μ(c)</c> (the limit of the myopic entropy, since the
    /// component is eventually known); for an independent noiseless product the sum of its factors' rates. A rate is
    /// exact when the component's MSP is finite, otherwise h(L) at the deepest L whose prefixes stay below ~10^5.
    /// </summary>
    public static double Asymptotic(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        switch (process.Composite)
        {
            case { Kind: CompositeKind.Mixture } mixture:
                return Enumerable.Range(0, mixture.PartCount).Sum(c => mixture.Weights[c] * Asymptotic(mixture.Parts[c]));
            case { Kind: CompositeKind.Product, Structure: ProductStructure.Independent, Noise: 0 } product:
                return product.Parts.Sum(Asymptotic);
        }

        int depth = (int)Math.Clamp(Math.Floor(Math.Log(1e5) / Math.Log(Math.Max(2, process.VocabSize))), 2, 64);
        return MixedStatePresentation.Build(process, depth).EntropyRate;
    }
}
