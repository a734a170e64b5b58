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

/// <summary>
/// The Bayes-optimal loss per position of a model with context n_ctx (<c>Loss[t] = h(t+2)</c>, as <see cref="LossFloor"/>):
/// exact from the merged MSP when it stays small, otherwise a Monte Carlo mean over sampled sequences with exact
/// belief tracking, with its standard error per position.
/// </summary>
/// <param name="Loss">Per position t = 0..n_ctx−1, nats.</param>
/// <param name="StandardError">Per position; all 0 when exact.</param>
/// <param name="Exact">Whether <paramref name="Loss"/> comes from the MSP.</param>
/// <param name="Sequences">Sampled sequences (0 when exact).</param>
public sealed record BayesLossCurve(double[] Loss, double[] StandardError, bool Exact, int Sequences)
{
    /// <summary>Above this many merged beliefs the MSP route gives way to sampling.</summary>
    public const int DefaultMaxMspStates = 250_000;

    public const int DefaultSamples = 4096;

    public static BayesLossCurve Compute(Process process, int contextLength, int maxMspStates = DefaultMaxMspStates, int samples = DefaultSamples, ulong seed = 1)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (contextLength < 1)
        {
            throw new BeliefLensInputException($"context: {contextLength} must be at least 1.");
        }

        MixedStatePresentation? msp = null;
        try
        {
            msp = MixedStatePresentation.Build(process, contextLength + 1, MixedStatePresentation.DefaultTolerance, maxMspStates);
        }
        catch (BeliefLensInputException)
        {
            // Too many distinct beliefs to enumerate: sample instead.
        }

        if (msp is not null)
        {
            return new BayesLossCurve(msp.LossFloor(contextLength), new double[contextLength], true, 0);
        }

        return Sampled(process, contextLength, samples, seed);
    }

    /// <summary>The Monte Carlo estimate: the mean next-token entropy of the exact belief after each sampled prefix.</summary>
    public static BayesLossCurve Sampled(Process process, int contextLength, int samples, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (samples < 2)
        {
            throw new BeliefLensInputException($"samples: {samples} must be at least 2 to give a standard error.");
        }

        int length = contextLength + 1;
        var tokens = new int[length];
        var sampler = new ProcessSampler(process);
        var rng = new Rng(seed);
        var sum = new double[contextLength];
        var squares = new double[contextLength];
        var belief = new double[process.StateCount];
        var next = new double[process.StateCount];
        var distribution = new double[process.VocabSize];
        for (int n = 0; n < samples; n++)
        {
            sampler.Sample(rng, tokens, 1, length);
            process.InitialBelief.CopyTo(belief, 0);
            for (int t = 0; t < contextLength; t++)
            {
                BeliefMath.Update(process, belief, tokens[t], next);
                (belief, next) = (next, belief);
                BeliefMath.NextTokenDistribution(process, belief, distribution);
                double entropy = BeliefMath.Entropy(distribution);
                sum[t] += entropy;
                squares[t] += entropy * entropy;
            }
        }

        var mean = sum.Select(s => s / samples).ToArray();
        var error = mean.Select((m, t) => Math.Sqrt(Math.Max(0, (squares[t] / samples) - (m * m)) / (samples - 1))).ToArray();
        return new BayesLossCurve(mean, error, false, samples);
    }
}

/// <summary>
/// The loss at the k-th occurrence of an event (a set of tokens, e.g. the name tokens): for every position whose
/// target token is in the set, its loss −ln q(target) is averaged by how many times the event has occurred up to and
/// including that target. Torch-free: it takes per-position losses from any predictor.
/// </summary>
public static class EventConditionedLoss
{
    /// <summary>
    /// <paramref name="sequences"/> is row-major [N][n_ctx+1] (inputs then the last target), <paramref name="losses"/>
    /// [N][n_ctx] with the loss of predicting token t+1 at position t. Returns mean loss and count for k = 1..maxK.
    /// Occurrences predicted before position <paramref name="firstPosition"/> are counted but not scored (e.g. a name
    /// right after BOS, which has no "Mr." before it).
    /// </summary>
    public static (double[] Mean, long[] Count) ByOccurrence(
        ReadOnlySpan<int> sequences, ReadOnlySpan<double> losses, int contextLength, IReadOnlySet<int> eventTokens, int maxK, int firstPosition = 0)
    {
        ArgumentNullException.ThrowIfNull(eventTokens);
        int length = contextLength + 1;
        int n = sequences.Length / length;
        if (losses.Length != n * contextLength)
        {
            throw new ArgumentException("losses must hold n_ctx values per sequence.", nameof(losses));
        }

        var sum = new double[maxK];
        var count = new long[maxK];
        for (int r = 0; r < n; r++)
        {
            int seen = eventTokens.Contains(sequences[r * length]) ? 1 : 0;
            for (int t = 0; t < contextLength; t++)
            {
                if (!eventTokens.Contains(sequences[(r * length) + t + 1]))
                {
                    continue;
                }

                seen++;
                if (seen <= maxK && t >= firstPosition)
                {
                    sum[seen - 1] += losses[(r * contextLength) + t];
                    count[seen - 1]++;
                }
            }
        }

        return (sum.Select((s, k) => count[k] > 0 ? s / count[k] : double.NaN).ToArray(), count);
    }

    /// <summary>The Bayes-optimal predictor's per-position loss −ln P(x_{t+1} | x_0..x_t) on the given sequences.</summary>
    public static double[] BayesLosses(Process process, ReadOnlySpan<int> sequences, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(process);
        int length = contextLength + 1;
        int n = sequences.Length / length;
        var result = new double[n * contextLength];
        var belief = new double[process.StateCount];
        var next = new double[process.StateCount];
        var distribution = new double[process.VocabSize];
        for (int r = 0; r < n; r++)
        {
            process.InitialBelief.CopyTo(belief, 0);
            for (int t = 0; t < contextLength; t++)
            {
                BeliefMath.Update(process, belief, sequences[(r * length) + t], next);
                (belief, next) = (next, belief);
                BeliefMath.NextTokenDistribution(process, belief, distribution);
                result[(r * contextLength) + t] = -Math.Log(distribution[sequences[(r * length) + t + 1]]);
            }
        }

        return result;
    }
}
