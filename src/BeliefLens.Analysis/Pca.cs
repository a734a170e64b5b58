using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>Explained-variance spectrum of a PCA: per-component variances, their ratios, cumulative ratios, and components needed.</summary>
public sealed record PcaResult(double[] Variances, double[] ExplainedRatio, double[] Cumulative, int For80, int For90, int For95, int For99)
{
    /// <summary>
    /// The spectrum of descending component variances (any common scale: a saved explained-ratio list rebuilds the
    /// same ratios, cumulative ratios and component counts). Negative values, rounding of an exact zero, count as 0.
    /// </summary>
    public static PcaResult FromVariances(IReadOnlyList<double> variances)
    {
        ArgumentNullException.ThrowIfNull(variances);
        if (variances.Count == 0)
        {
            throw new BeliefLensInputException("variances: empty; a PCA spectrum needs at least one component.");
        }

        var clean = variances.Select(v => double.IsFinite(v) ? Math.Max(v, 0) : throw new BeliefLensInputException("variances: contains NaN or infinity.")).ToArray();
        double total = clean.Sum();
        var ratio = clean.Select(v => total > 0 ? v / total : 0).ToArray();
        var cumulative = new double[ratio.Length];
        double running = 0;
        for (int i = 0; i < ratio.Length; i++)
        {
            running += ratio[i];
            cumulative[i] = running;
        }

        var partial = new PcaResult(clean, ratio, cumulative, 0, 0, 0, 0);
        return partial with
        {
            For80 = partial.ComponentsFor(0.80),
            For90 = partial.ComponentsFor(0.90),
            For95 = partial.ComponentsFor(0.95),
            For99 = partial.ComponentsFor(0.99),
        };
    }

    /// <summary>Smallest number of leading components whose cumulative explained variance reaches <paramref name="fraction"/>.</summary>
    public int ComponentsFor(double fraction)
    {
        for (int i = 0; i < Cumulative.Length; i++)
        {
            if (Cumulative[i] >= fraction - 1e-12)
            {
                return i + 1;
            }
        }

        return Cumulative.Length;
    }
}

/// <summary>
/// Principal component analysis in float64: the weighted covariance Σ w (x−μ)(x−μ)ᵀ / Σw (<see cref="WeightedGram"/>)
/// decomposed by <see cref="SymmetricEigen"/>, which converges or throws. The one PCA of the project: the probe's
/// spectra and the figures' 2-D layouts both come from here.
/// </summary>
public sealed class Pca
{
    private Pca(int dimension, double[] mean, double[] components, PcaResult spectrum)
    {
        (Dimension, Mean, Components, Spectrum) = (dimension, mean, components, spectrum);
    }

    public int Dimension { get; }

    /// <summary>The (weighted) mean the data were centred on.</summary>
    public double[] Mean { get; }

    /// <summary>
    /// Unit principal axes, flat <c>[Dimension][Dimension]</c>: row k is the axis of the k-th largest variance, its
    /// largest-magnitude entry made positive so the output is deterministic.
    /// </summary>
    public double[] Components { get; }

    /// <summary>Variances along the axes (descending) with explained ratios and component counts.</summary>
    public PcaResult Spectrum { get; }

    /// <summary>PCA of the selected rows of <paramref name="x"/>, weighted per dataset row (null = 1 each).</summary>
    public static Pca Fit(FeatureMatrix x, double[]? weights = null, int[]? rows = null, int maxDegreeOfParallelism = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ProbeValidation.CheckDesign(x, null, weights, rows);
        var gram = WeightedGram.Compute(x, null, weights, rows, maxDegreeOfParallelism);
        if (!(gram.WeightTotal > 0))
        {
            throw new BeliefLensInputException("weights: the selected rows have zero total weight; nothing to analyse.");
        }

        int d = gram.Features;
        var eigen = SymmetricEigen.Decompose(gram.Gram, d);
        var components = new double[d * d];
        for (int k = 0; k < d; k++)
        {
            var axis = eigen.EigenVector(k);
            int argMax = 0;
            for (int i = 1; i < d; i++)
            {
                if (Math.Abs(axis[i]) > Math.Abs(axis[argMax]))
                {
                    argMax = i;
                }
            }

            double sign = axis[argMax] < 0 ? -1 : 1;
            for (int i = 0; i < d; i++)
            {
                components[(k * d) + i] = sign * axis[i];
            }
        }

        var spectrum = PcaResult.FromVariances(eigen.Values.Select(v => v / gram.WeightTotal).ToArray());
        return new Pca(d, gram.FeatureMean, components, spectrum);
    }

    /// <summary>PCA of flat rows <c>data[N][dimension]</c>, optionally weighted per row (weights need not sum to 1).</summary>
    public static Pca Fit(double[] data, int dimension, double[]? weights = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (dimension <= 0 || data.Length == 0 || data.Length % dimension != 0)
        {
            throw new BeliefLensInputException($"data: length {data.Length} is not a positive multiple of dimension {dimension}; pass whole rows.");
        }

        return Fit(FeatureMatrix.FromDouble(data, data.Length / dimension, dimension), weights);
    }

    /// <summary>Coordinates of flat rows on the first <paramref name="count"/> axes, flat <c>[N][count]</c>.</summary>
    public double[] Transform(ReadOnlySpan<double> data, int count)
    {
        if (count <= 0 || count > Dimension)
        {
            throw new BeliefLensInputException($"count: {count} principal components requested; give 1..{Dimension}.");
        }

        if (data.Length % Dimension != 0)
        {
            throw new BeliefLensInputException($"data: length {data.Length} is not a multiple of dimension {Dimension}; pass whole rows.");
        }

        int n = data.Length / Dimension;
        var result = new double[n * count];
        var centred = new double[Dimension];
        for (int r = 0; r < n; r++)
        {
            TensorPrimitives.Subtract(data.Slice(r * Dimension, Dimension), Mean, centred);
            for (int k = 0; k < count; k++)
            {
                result[(r * count) + k] = TensorPrimitives.Dot<double>(centred, Components.AsSpan(k * Dimension, Dimension));
            }
        }

        return result;
    }
}
