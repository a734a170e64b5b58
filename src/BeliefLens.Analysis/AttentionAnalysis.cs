using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// How one head's attention falls off with query–key distance n = q − k, from its mean pattern.
/// <para><see cref="Lambda"/>, <see cref="R2"/>: the fit <c>log Ā(q, q−n) = a_q + n·log λ̂</c> over every query q and
/// n = 1..n_ctx−1, with one intercept per query. Softmax divides query q's weights by its own normaliser
/// <c>Z_q = Σ λⁿ</c>; the per-query intercept absorbs that division, so a pure exponential λⁿ/Z_q gives λ̂ = λ and
/// R² = 1 exactly. R² is the share of the within-query variance of log Ā the line explains.</para>
/// <para><see cref="MeanByDistance"/> is the plain profile A(n), the mean of Ā(q, q−n) over queries q ≥ n, and
/// <see cref="MeanProfileLambda"/> / <see cref="MeanProfileR2"/> the single-intercept fit <c>log A(n) = a + n·log λ̂</c>
/// to it; it is biased low because long distances are seen only from late queries, whose Z_q is larger.</para>
/// <para><see cref="Profile"/> (n = 0..n_ctx−1) is the pattern with each query's fitted intercept removed, averaged over
/// queries: what the figure draws against λ̂ⁿ and the theory's λⁿ. Softmax weights are positive, so only |λ| can be
/// fitted; a negative or complex eigenvalue shows up as a poor fit or a split across heads.</para>
/// </summary>
public sealed record AttentionDecayFit(double Lambda, double R2, double[] Profile, double[] MeanByDistance, double MeanProfileLambda, double MeanProfileR2);

/// <summary>Torch-free arithmetic of the attention analysis: decay fits and OV vectors in belief coordinates.</summary>
public static class AttentionAnalysis
{
    /// <summary>Attention weights at or below this are left out of log fits (a float32 softmax underflows to 0).</summary>
    public const double SmallestWeight = 1e-30;

    /// <summary>
    /// Fits the decay of a head's mean pattern <paramref name="meanPattern"/> (row-major [P, P], row = query, column =
    /// key, causal: zero above the diagonal). Needs P ≥ 3 so some query sees two distances.
    /// </summary>
    public static AttentionDecayFit FitDecay(double[] meanPattern, int positions)
    {
        ArgumentNullException.ThrowIfNull(meanPattern);
        if (positions < 3 || meanPattern.Length != positions * positions)
        {
            throw new BeliefLensInputException($"pattern: need a [P, P] mean pattern with P ≥ 3 (got {meanPattern.Length} values for P = {positions}).");
        }

        double Log(int q, int n) => Math.Log(meanPattern[(q * positions) + q - n]);
        bool Usable(int q, int n) => meanPattern[(q * positions) + q - n] > SmallestWeight;

        // Per-query means of n and log Ā over n = 1..q, then the pooled within-query slope.
        var meanN = new double[positions];
        var meanY = new double[positions];
        var count = new int[positions];
        for (int q = 1; q < positions; q++)
        {
            for (int n = 1; n <= q; n++)
            {
                if (Usable(q, n))
                {
                    meanN[q] += n;
                    meanY[q] += Log(q, n);
                    count[q]++;
                }
            }

            if (count[q] > 0)
            {
                meanN[q] /= count[q];
                meanY[q] /= count[q];
            }
        }

        double sxy = 0, sxx = 0, syy = 0;
        for (int q = 1; q < positions; q++)
        {
            for (int n = 1; n <= q; n++)
            {
                if (Usable(q, n))
                {
                    double dx = n - meanN[q], dy = Log(q, n) - meanY[q];
                    sxy += dx * dy;
                    sxx += dx * dx;
                    syy += dy * dy;
                }
            }
        }

        double slope = sxx > 0 ? sxy / sxx : double.NaN;
        double sse = 0;
        for (int q = 1; q < positions; q++)
        {
            for (int n = 1; n <= q; n++)
            {
                if (Usable(q, n))
                {
                    double residual = Log(q, n) - meanY[q] - (slope * (n - meanN[q]));
                    sse += residual * residual;
                }
            }
        }

        double r2 = Metrics.RSquared(sse, syy, syy);

        // Profile: Ā(q, q−n) / exp(a_q), a_q = mean log Ā − slope · mean n, averaged over queries q ≥ max(n, 1).
        var profile = new double[positions];
        for (int n = 0; n < positions; n++)
        {
            double sum = 0;
            int used = 0;
            for (int q = Math.Max(n, 1); q < positions; q++)
            {
                if (count[q] > 0 && double.IsFinite(slope))
                {
                    double intercept = meanY[q] - (slope * meanN[q]);
                    sum += meanPattern[(q * positions) + q - n] / Math.Exp(intercept);
                    used++;
                }
            }

            profile[n] = used > 0 ? sum / used : double.NaN;
        }

        var meanByDistance = new double[positions];
        for (int n = 0; n < positions; n++)
        {
            double sum = 0;
            for (int q = n; q < positions; q++)
            {
                sum += meanPattern[(q * positions) + q - n];
            }

            meanByDistance[n] = sum / (positions - n);
        }

        var xs = new List<double>();
        var ys = new List<double>();
        for (int n = 1; n < positions; n++)
        {
            if (meanByDistance[n] > SmallestWeight)
            {
                xs.Add(n);
                ys.Add(Math.Log(meanByDistance[n]));
            }
        }

        double meanSlope = xs.Count >= 2 ? Slope(xs, ys) : double.NaN;
        double meanR2 = xs.Count >= 2 ? Metrics.LinearRSquared(xs.ToArray(), ys.ToArray()) : double.NaN;
        return new AttentionDecayFit(Math.Exp(slope), r2, profile, meanByDistance, Math.Exp(meanSlope), meanR2);
    }

    /// <summary>
    /// A residual-stream displacement <paramref name="vector"/> (length d_model) in belief coordinates: through the
    /// probe's linear part only (<c>v · W</c>, W = coefficients [d_model, S]); the intercept belongs to positions, not to
    /// displacements. Then the component along (1, …, 1) is removed: beliefs sum to 1, so a belief displacement sums to
    /// 0 (an affine probe fitted to targets that sum to 1 already has columns summing to 0, up to rounding).
    /// </summary>
    public static double[] ToBeliefCoordinates(ReadOnlySpan<double> vector, AffineFit probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (vector.Length != probe.Features)
        {
            throw new ArgumentException($"vector: length {vector.Length}, the probe has {probe.Features} features.", nameof(vector));
        }

        int k = probe.Targets;
        var mapped = new double[k];
        for (int i = 0; i < vector.Length; i++)
        {
            for (int t = 0; t < k; t++)
            {
                mapped[t] += vector[i] * probe.Coefficients[(i * k) + t];
            }
        }

        double mean = mapped.Average();
        for (int t = 0; t < k; t++)
        {
            mapped[t] -= mean;
        }

        return mapped;
    }

    /// <summary>
    /// The vectors minus their <paramref name="weights"/>-weighted mean. A head's softmax weights sum to 1, so a part common
    /// to every token's OV output only adds a constant to the head's output (which the probe's intercept absorbs): OV
    /// vectors are identified up to a common vector. The shifts satisfy <c>Σz P(z|π) Δz = 0</c>, so centring the OV
    /// vectors with the weights P(z|π) puts them in the same gauge as Δz.
    /// </summary>
    public static double[][] CentreAcrossTokens(double[][] vectors, double[] weights)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        ArgumentNullException.ThrowIfNull(weights);
        if (vectors.Length != weights.Length || vectors.Length == 0)
        {
            throw new ArgumentException($"weights: {weights.Length} for {vectors.Length} vectors.", nameof(weights));
        }

        double total = weights.Sum();
        int d = vectors[0].Length;
        var mean = new double[d];
        for (int z = 0; z < vectors.Length; z++)
        {
            for (int i = 0; i < d; i++)
            {
                mean[i] += weights[z] * vectors[z][i] / total;
            }
        }

        return vectors.Select(v => v.Select((x, i) => x - mean[i]).ToArray()).ToArray();
    }

    /// <summary>Cosine of the angle between two vectors; NaN when either is zero.</summary>
    public static double Cosine(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"vectors: lengths {a.Length} and {b.Length} differ.", nameof(b));
        }

        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }

        return aa > 0 && bb > 0 ? dot / Math.Sqrt(aa * bb) : double.NaN;
    }

    private static double Slope(List<double> xs, List<double> ys)
    {
        double mx = xs.Average(), my = ys.Average(), sxy = 0, sxx = 0;
        for (int i = 0; i < xs.Count; i++)
        {
            sxy += (xs[i] - mx) * (ys[i] - my);
            sxx += (xs[i] - mx) * (xs[i] - mx);
        }

        return sxy / sxx;
    }
}
