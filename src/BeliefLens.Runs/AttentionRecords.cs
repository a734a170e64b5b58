using System.Text.Json.Serialization;

namespace BeliefLens.Runs;

/// <summary>
/// <c>attention.json</c>, written by <c>belieflens attention</c>: the constrained-belief-update analysis of one model.
/// The first six fields are the shape; the rest are the extra numbers the report and figures draw. NaN is null.
/// </summary>
public sealed record AttentionResult(
    string Process,
    double[][] Eigenvalues,
    int PredictedHeads,
    IReadOnlyList<AttentionHeadResult> Heads,
    IReadOnlyDictionary<string, double?> ConstrainedRmse,
    IReadOnlyDictionary<string, double?> ExactRmse)
{
    /// <summary>The checkpoint analysed.</summary>
    public required string Checkpoint { get; init; }

    public required int NCtx { get; init; }

    public required int Sequences { get; init; }

    /// <summary>True when every nonzero-probability sequence of length n_ctx was used (weighted by probability).</summary>
    public required bool Exhaustive { get; init; }

    /// <summary>The distinct eigenvalues with multiplicities, kind, relevance and heads.</summary>
    public required IReadOnlyList<EigenvalueRecord> EigenvalueGroups { get; init; }

    /// <summary>π, the belief the shifts start from.</summary>
    public required double[] Stationary { get; init; }

    /// <summary>Δz = η⁽ᶻ⁾ − π per token (null for a token of probability zero from π).</summary>
    public required double[]?[] Shifts { get; init; }

    /// <summary>Null when the constrained expansion is defined; else the one-line reason.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required string? ConstrainedUndefined { get; init; }

    /// <summary>In-sample RMSE per site (the top-level *_rmse are held-out: fit on 20% of the sequences, scored on the rest).</summary>
    public required IReadOnlyDictionary<string, double?> ConstrainedRmseInSample { get; init; }

    public required IReadOnlyDictionary<string, double?> ExactRmseInSample { get; init; }

    /// <summary>
    /// Held-out RMSE to the softmax-normalised constrained beliefs: each eigenvalue's sum divided by Σ_(n&lt;d) |λ|ⁿ, the
    /// normaliser of a head with weights |λ|ⁿ (what one attention layer can hold before a later layer rescales it).
    /// </summary>
    public required IReadOnlyDictionary<string, double?> ConstrainedNormalisedRmse { get; init; }

    /// <summary>Held-out R² per site (scale-free: the constrained beliefs spread much wider than the exact ones).</summary>
    public required IReadOnlyDictionary<string, double?> ConstrainedR2 { get; init; }

    public required IReadOnlyDictionary<string, double?> ConstrainedNormalisedR2 { get; init; }

    public required IReadOnlyDictionary<string, double?> ExactR2 { get; init; }

    /// <summary>How every number was computed, one line each.</summary>
    public required IReadOnlyList<string> Notes { get; init; }
}

/// <summary>One distinct eigenvalue of T = Σx T[x].</summary>
public sealed record EigenvalueRecord(double[] Value, int AlgebraicMultiplicity, int GeometricMultiplicity, string Kind, bool Relevant, int Heads);

/// <summary>One head: the decay fit and the OV cosines (the fields first).</summary>
public sealed record AttentionHeadResult(int Layer, int Head, double? LambdaFit, double? FitR2, double?[] OvCosine)
{
    /// <summary>Mean attention by distance n = 0..n_ctx−1 (mean over queries q ≥ n of the probability-weighted pattern).</summary>
    public required double?[] AttentionByDistance { get; init; }

    /// <summary>The pattern with each query's fitted intercept removed, averaged over queries (λ̂ⁿ for a perfect fit).</summary>
    public required double?[] NormalisedProfile { get; init; }

    /// <summary>The single-intercept fit to <see cref="AttentionByDistance"/> (biased low by the softmax normaliser).</summary>
    public required double? LambdaFitMeanProfile { get; init; }

    public required double? FitR2MeanProfile { get; init; }

    /// <summary>Per token, the OV vector in belief coordinates (exact-belief probe of this layer's hook_resid_post).</summary>
    public required double[][] OvBelief { get; init; }

    /// <summary>OV cosines before centring the mapped OV vectors across tokens.</summary>
    public required double?[] OvCosineUncentred { get; init; }

    /// <summary>OV cosines through the constrained-belief probe instead (null without constrained beliefs).</summary>
    public required double?[]? OvCosineConstrainedProbe { get; init; }

    /// <summary>OV cosines of ln1's linear part (W_E[z] centred, times ln1.w) instead of W_E[z] (null without LayerNorm).</summary>
    public required double?[]? OvCosineThroughLn1 { get; init; }
}
