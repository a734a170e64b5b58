using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

public sealed class MetricsTests
{
    [Fact]
    public void LinearRSquaredIsOneForALineAndMatchesAHandComputedValue()
    {
        Assert.Equal(1.0, Metrics.LinearRSquared([1, 2, 3, 4], [3, 5, 7, 9]), 14);
        Assert.Equal(1.0, Metrics.LinearRSquared([1, 2, 3], [5, 3, 1]), 14); // a falling line fits as well
        // x = 1,2,3 ; y = 1,3,2: sxy = 1, sxx = 2, syy = 2 → R² = 1/4, the same either way round.
        Assert.Equal(0.25, Metrics.LinearRSquared([1, 2, 3], [1, 3, 2]), 14);
        Assert.Equal(0.25, Metrics.LinearRSquared([1, 3, 2], [1, 2, 3]), 14);
    }

    [Fact]
    public void LinearRSquaredOfConstantVectorsFollowsTheConstantTargetConvention()
    {
        // y constant: the flat line through it fits exactly. Only x constant: the best line is flat and explains nothing.
        Assert.Equal(1.0, Metrics.LinearRSquared([1, 2, 3], [0.7, 0.7, 0.7]));
        Assert.Equal(0.0, Metrics.LinearRSquared([0.7, 0.7, 0.7], [1, 2, 3]));
        Assert.Equal(1.0, Metrics.LinearRSquared([2, 2], [0, 0]));
    }

    [Fact]
    public void LinearRSquaredRejectsMismatchedInputWithOneLine()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => Metrics.LinearRSquared([1, 2, 3], [1, 2]));
        Assert.StartsWith("x, y:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void RSquaredOfConstantTargetsIsOneWhenPredictedExactlyAndZeroOtherwise()
    {
        // 0.1 is not exact in binary, so the weighted mean of these constant targets can be off by an ulp: SST is then
        // a rounding residue, not variance, and must not turn R² into a huge negative number or NaN.
        double[] weights = [0.3, 1.7, 2.9, 0.1, 5.3];
        var truth = new DenseMatrix(Enumerable.Repeat(0.1, 5).ToArray(), 5, 1);
        var exact = RegressionMetrics.Compute(truth, truth, weights);
        Assert.Equal(1.0, exact.R2);
        Assert.Equal(0.0, exact.Mse);

        var off = RegressionMetrics.Compute(new DenseMatrix([0.1, 0.1, 0.2, 0.1, 0.1], 5, 1), truth, weights);
        Assert.Equal(0.0, off.R2);
        Assert.Equal(2.9 * 0.01 / weights.Sum(), off.Mse, 15);

        var zeros = new DenseMatrix(new double[4], 2, 2);
        Assert.Equal(1.0, RegressionMetrics.Compute(zeros, zeros).R2);
        Assert.Equal(0.0, RegressionMetrics.Compute(new DenseMatrix([0, 1e-30, 0, 0], 2, 2), zeros).R2);
    }

    [Fact]
    public void AnAffineProbeOfConstantTargetsScoresROfOne()
    {
        // What a probe sees for, e.g., a belief coordinate that never changes: finite R², not NaN.
        var rng = new Rng(4);
        int n = 50, d = 3;
        var x = FeatureMatrix.FromDouble(Enumerable.Range(0, n * d).Select(_ => rng.NextGaussian()).ToArray(), n, d);
        var y = new DenseMatrix(Enumerable.Repeat(1.0 / 3, n).ToArray(), n, 1);
        var fit = AffineLeastSquares.Fit(x, y);
        var metrics = RegressionMetrics.Score(fit, x, y);
        Assert.Equal(1.0, metrics.R2);
        Assert.True(metrics.Mse < 1e-30, $"MSE {metrics.Mse}");
    }

    [Fact]
    public void MseRmseAndRSquaredFollowTheirDefinitions()
    {
        Assert.Equal(25.0 / 8, Metrics.Mse(25, 4, 2), 15);
        Assert.Equal(Math.Sqrt(25.0 / 8), Metrics.Rmse(25.0 / 8), 15);
        Assert.Equal(1 - (25 / 1.5), Metrics.RSquared(25, 1.5, 4), 15);
    }

    [Fact]
    public void SimdAxpyIsBitwiseTheUnfusedLoopAndDotIsWithinRounding()
    {
        var rng = new Rng(9);
        foreach (int n in new[] { 1, 3, 4, 7, 64, 131 })
        {
            var x = Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
            double a = rng.NextGaussian();
            var expected = y.Select((v, i) => v + (a * x[i])).ToArray();
            SymmetricEigen.Axpy(a, x, y);
            Assert.Equal(expected, y);

            double dot = 0, scale = 0;
            for (int i = 0; i < n; i++)
            {
                dot += x[i] * y[i];
                scale += Math.Abs(x[i] * y[i]);
            }

            Assert.True(Math.Abs(SymmetricEigen.Dot(x, y) - dot) <= 1e-15 * scale * n, $"n = {n}");
        }
    }
}
