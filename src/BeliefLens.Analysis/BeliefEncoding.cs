using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Where activations move when the belief moves: the slope G (S × d) of the least-squares map η → a, a ≈ (η − η̄)G + ā,
/// i.e. G = Cov(η)⁺ Cov(η, a). A probe's own directions (the row space of W) are discriminative: they cancel whatever
/// else varies in the activations, and can be nearly blind to the directions the network writes and reads its
/// beliefs along. Steering along G, scaled so the probe reads the target, separates the two.
/// </summary>
public sealed class BeliefEncoding
{
    private readonly double[] _slope; // [S][d]

    private BeliefEncoding(double[] slope, int targets, int features) => (_slope, Targets, Features) = (slope, targets, features);

    public int Targets { get; }

    public int Features { get; }

    /// <summary>Fits G on every row of <paramref name="activations"/> against the matching row of <paramref name="beliefs"/>.</summary>
    public static BeliefEncoding Fit(FeatureMatrix activations, DenseMatrix beliefs)
    {
        ArgumentNullException.ThrowIfNull(activations);
        ArgumentNullException.ThrowIfNull(beliefs);
        if (activations.Rows != beliefs.Rows || activations.Rows < 2)
        {
            throw new BeliefLensInputException($"beliefs: {beliefs.Rows} rows for {activations.Rows} activation rows; the encoding needs the same rows, at least 2.");
        }

        int s = beliefs.Cols, d = activations.Cols;
        var cross = WeightedGram.Compute(activations, beliefs, null, null, 0).Cross; // Σ (a−ā)(η−η̄)ᵀ, [d][S]
        var covariance = WeightedGram.Compute(FeatureMatrix.FromDouble(beliefs.Data, beliefs.Rows, s), null, null, null, 0).Gram; // [S][S]

        // G = Cov(η)⁺ Cov(η, a); beliefs summing to 1 make Cov(η) singular along (1, …, 1), which the pseudo-inverse drops.
        var inverse = BeliefSubspace.PseudoInverseSymmetric(covariance, s);
        var slope = new double[s * d];
        for (int t = 0; t < s; t++)
        {
            for (int u = 0; u < s; u++)
            {
                double w = inverse[(t * s) + u];
                for (int i = 0; i < d; i++)
                {
                    slope[(t * d) + i] += w * cross[(i * s) + u];
                }
            }
        }

        return new BeliefEncoding(slope, s, d);
    }

    /// <summary>
    /// The edit δ = cG along the encoding directions that moves <paramref name="probe"/>'s reading of
    /// <paramref name="activation"/> to <paramref name="target"/>.
    /// </summary>
    public double[] EditTowards(BeliefSubspace probe, ReadOnlySpan<double> activation, ReadOnlySpan<double> target)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var change = probe.Read(activation);
        for (int t = 0; t < change.Length; t++)
        {
            change[t] = target[t] - change[t];
        }

        return EditFor(probe, change);
    }

    /// <summary>The edit δ = cG that shifts <paramref name="probe"/>'s reading by <paramref name="change"/>: c solves c(GW) = change, least-norm.</summary>
    public double[] EditFor(BeliefSubspace probe, ReadOnlySpan<double> change)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.Features != Features || probe.Targets != Targets)
        {
            throw new BeliefLensInputException($"probe: reads {probe.Features} features into {probe.Targets} beliefs, but the encoding is {Targets} × {Features}; fit both at the same site.");
        }

        // GW (S × S): how each encoding direction moves the probe's reading.
        var readings = new double[Targets * Targets];
        for (int t = 0; t < Targets; t++)
        {
            probe.ReadChange(_slope.AsSpan(t * Features, Features)).CopyTo(readings, t * Targets);
        }

        var weights = new BeliefSubspace(readings, new double[Targets], Targets).EditFor(change);
        var edit = new double[Features];
        for (int t = 0; t < Targets; t++)
        {
            for (int i = 0; i < Features; i++)
            {
                edit[i] += weights[t] * _slope[(t * Features) + i];
            }
        }

        return edit;
    }
}
