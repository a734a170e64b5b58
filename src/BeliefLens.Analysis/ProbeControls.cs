using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>Explained-variance spectrum of a site's (weighted, centred) activations.</summary>
public sealed record PcaResult(double[] Variances, double[] ExplainedRatio, double[] Cumulative, int For80, int For90, int For95, int For99)
{
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
/// Distance analysis (the paper's RRXOR check) on a seeded subsample of m points:
/// for every unordered pair (a, b) of sampled points, d_pred = ‖ŷ_a − ŷ_b‖, d_true = ‖y_a − y_b‖ (beliefs) and
/// d_next = ‖p_a − p_b‖ (true next-token distributions), all Euclidean. R² values are those of an ordinary least-squares
/// line (with intercept, unweighted over pairs) between two distance vectors, which equals their squared Pearson
/// correlation and is symmetric in the two vectors (NaN when one vector is constant).
/// </summary>
public sealed record DistanceAnalysis(int Points, int Pairs, double R2PredictedVsTrueBeliefs, double R2PredictedVsNextToken, double R2TrueBeliefsVsNextToken);

public static class ProbeControls
{
    /// <summary>
    /// Shuffled-target control: a seeded permutation of the target rows among <paramref name="sample"/>'s rows
    /// (features and weights stay with their rows), refit, and scored in-sample against the shuffled targets.
    /// Its MSE should approach the targets' variance (<see cref="RegressionMetrics.TargetVariance"/>).
    /// </summary>
    public static RegressionMetrics ShuffledTargets(FeatureMatrix x, DenseMatrix y, ProbeSample sample, ulong seed, AffineFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ArgumentNullException.ThrowIfNull(sample);
        var shuffledTargets = Shuffle(y, sample.Rows, seed);
        var fit = AffineLeastSquares.Fit(x, shuffledTargets, sample.Weights, sample.Rows, options);
        return RegressionMetrics.Score(fit, x, shuffledTargets, sample.Weights, sample.Rows);
    }

    /// <summary>
    /// The same control on a dataset, with the same permutation of the original rows; the fit merges rows of one prefix
    /// (their features are equal, their shuffled targets are not, so each prefix is fitted to its rows' mean shuffled
    /// target with their summed weight, which is the same least-squares solution), and is scored on every original row.
    /// </summary>
    public static RegressionMetrics ShuffledTargets(ActivationDataset dataset, ProbeSample sample, ulong seed, AffineFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(sample);
        var shuffledTargets = Shuffle(dataset.Targets, sample.Rows, seed);
        var fit = ProbeEvaluator.Fit(dataset, shuffledTargets, sample.Weights, sample.Rows, options);
        return RegressionMetrics.Score(fit, dataset.Features, shuffledTargets, sample.Weights, sample.Rows);
    }

    /// <summary>Targets with the rows of <paramref name="rows"/> permuted among themselves (seeded); other rows unchanged.</summary>
    private static DenseMatrix Shuffle(DenseMatrix y, int[] rows, ulong seed)
    {
        int[] permutation = ProbeSplits.Permutation(rows.Length, seed);
        var shuffled = (double[])y.Data.Clone();
        int k = y.Cols;
        for (int i = 0; i < rows.Length; i++)
        {
            Array.Copy(y.Data, rows[permutation[i]] * k, shuffled, rows[i] * k, k);
        }

        return new DenseMatrix(shuffled, y.Rows, k);
    }

    /// <summary>
    /// PCA of the selected rows' activations: eigenvalues of the weighted covariance Σ w (x−μ)(x−μ)ᵀ / Σw,
    /// descending, with explained-variance ratios, cumulative ratios and the components needed for 80/90/95/99%.
    /// </summary>
    public static PcaResult Pca(FeatureMatrix x, double[]? weights = null, int[]? rows = null, int maxDegreeOfParallelism = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ProbeValidation.CheckDesign(x, null, weights, rows);
        var gram = WeightedGram.Compute(x, null, weights, rows, maxDegreeOfParallelism);
        if (!(gram.WeightTotal > 0))
        {
            throw new BeliefLensInputException("weights: the selected rows have zero total weight; nothing to analyse.");
        }

        var eigen = SymmetricEigen.Decompose(gram.Gram, gram.Features);
        var variances = eigen.Values.Select(v => Math.Max(v, 0) / gram.WeightTotal).ToArray();
        double total = variances.Sum();
        var ratio = variances.Select(v => total > 0 ? v / total : 0).ToArray();
        var cumulative = new double[ratio.Length];
        double running = 0;
        for (int i = 0; i < ratio.Length; i++)
        {
            running += ratio[i];
            cumulative[i] = running;
        }

        var partial = new PcaResult(variances, ratio, cumulative, 0, 0, 0, 0);
        return partial with
        {
            For80 = partial.ComponentsFor(0.80),
            For90 = partial.ComponentsFor(0.90),
            For95 = partial.ComponentsFor(0.95),
            For99 = partial.ComponentsFor(0.99),
        };
    }

    /// <summary>
    /// Distance analysis on a seeded uniform subsample (without replacement) of at most <paramref name="maxPoints"/>
    /// rows. <paramref name="predicted"/>, <paramref name="beliefs"/> and <paramref name="nextToken"/> are aligned row by row.
    /// </summary>
    public static DistanceAnalysis Distances(DenseMatrix predicted, DenseMatrix beliefs, DenseMatrix nextToken, int maxPoints, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(beliefs);
        ArgumentNullException.ThrowIfNull(nextToken);
        if (predicted.Rows != beliefs.Rows || nextToken.Rows != beliefs.Rows || predicted.Cols != beliefs.Cols)
        {
            throw new BeliefLensInputException("distance analysis: predicted, belief and next-token matrices need the same rows (and predicted/belief the same dims).");
        }

        if (maxPoints < 2)
        {
            throw new BeliefLensInputException("distance_points: need at least 2 points to form a pair.");
        }

        int m = Math.Min(maxPoints, beliefs.Rows);
        if (m < 2)
        {
            throw new BeliefLensInputException("distance analysis: need at least 2 rows.");
        }

        int[] chosen = ProbeSplits.Permutation(beliefs.Rows, seed)[..m];
        long pairs = (long)m * (m - 1) / 2;
        var dPred = new double[pairs];
        var dTrue = new double[pairs];
        var dNext = new double[pairs];
        long p = 0;
        for (int a = 0; a < m; a++)
        {
            for (int b = a + 1; b < m; b++, p++)
            {
                dPred[p] = Distance(predicted.Row(chosen[a]), predicted.Row(chosen[b]));
                dTrue[p] = Distance(beliefs.Row(chosen[a]), beliefs.Row(chosen[b]));
                dNext[p] = Distance(nextToken.Row(chosen[a]), nextToken.Row(chosen[b]));
            }
        }

        return new DistanceAnalysis(m, (int)pairs, LinearR2(dPred, dTrue), LinearR2(dPred, dNext), LinearR2(dTrue, dNext));
    }

    /// <summary>R² of the least-squares line between two vectors = squared Pearson correlation (NaN if either is constant).</summary>
    public static double LinearR2(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        int n = a.Count;
        double meanA = a.Average(), meanB = b.Average();
        double sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++)
        {
            double da = a[i] - meanA, db = b[i] - meanB;
            sab += da * db;
            saa += da * da;
            sbb += db * db;
        }

        return saa > 0 && sbb > 0 ? sab * sab / (saa * sbb) : double.NaN;
    }

    private static double Distance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }

        return Math.Sqrt(sum);
    }
}
