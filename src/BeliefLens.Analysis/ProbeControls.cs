using BeliefLens.Core;

namespace BeliefLens.Analysis;

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
    /// PCA spectrum of the selected rows' activations (<see cref="Analysis.Pca.Fit(FeatureMatrix, double[], int[], int)"/>):
    /// eigenvalues of the weighted covariance, descending, with explained-variance ratios and the components for 80/90/95/99%.
    /// </summary>
    public static PcaResult Pca(FeatureMatrix x, double[]? weights = null, int[]? rows = null, int maxDegreeOfParallelism = 0) =>
        Analysis.Pca.Fit(x, weights, rows, maxDegreeOfParallelism).Spectrum;
}
