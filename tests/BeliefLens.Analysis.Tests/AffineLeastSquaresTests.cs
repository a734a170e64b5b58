using BeliefLens.Core;
using BeliefLens.Analysis;

namespace BeliefLens.Analysis.Tests;

public sealed class AffineLeastSquaresTests
{
    private static (FeatureMatrix X, DenseMatrix Y, double[] B, double[] Intercept) Synthetic(int n, int d, int k, ulong seed, double noise = 0, double offset = 0)
    {
        var rng = new Rng(seed);
        var x = new double[n * d];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = offset + rng.NextGaussian();
        }

        var b = new double[d * k];
        for (int i = 0; i < b.Length; i++)
        {
            b[i] = rng.NextGaussian();
        }

        var c = new double[k];
        for (int t = 0; t < k; t++)
        {
            c[t] = rng.NextGaussian();
        }

        var y = new double[n * k];
        for (int r = 0; r < n; r++)
        {
            for (int t = 0; t < k; t++)
            {
                double v = c[t];
                for (int j = 0; j < d; j++)
                {
                    v += x[r * d + j] * b[j * k + t];
                }

                y[r * k + t] = v + noise * rng.NextGaussian();
            }
        }

        return (FeatureMatrix.FromDouble(x, n, d), new DenseMatrix(y, n, k), b, c);
    }

    [Theory]
    [InlineData(500, 7, 3, 0.0)]
    [InlineData(3000, 37, 2, 5.0)] // odd width (not a SIMD multiple) and a large offset that centring must handle
    [InlineData(20_000, 70, 3, 0.0)] // several parallel parts and Gram tiles
    public void NoiseFreeAffineMapIsRecoveredExactly(int n, int d, int k, double offset)
    {
        var (x, y, b, c) = Synthetic(n, d, k, 11, noise: 0, offset: offset);
        var fit = AffineLeastSquares.Fit(x, y);

        Assert.Null(fit.Warning);
        Assert.Equal(d, fit.EffectiveRank);
        for (int i = 0; i < b.Length; i++)
        {
            Assert.Equal(b[i], fit.Coefficients[i], 1e-9);
        }

        for (int t = 0; t < k; t++)
        {
            Assert.Equal(c[t], fit.Intercept[t], 1e-8);
        }

        var metrics = RegressionMetrics.Score(fit, x, y);
        Assert.True(metrics.Mse < 1e-18, $"MSE {metrics.Mse}");
        Assert.Equal(1.0, metrics.R2, 12);
    }

    [Fact]
    public void SinglePrecisionFeaturesGiveTheSameFitAsTheirWidenedCopy()
    {
        var rng = new Rng(3);
        int n = 1000, d = 19;
        var xf = new float[n * d];
        for (int i = 0; i < xf.Length; i++)
        {
            xf[i] = (float)rng.NextGaussian();
        }

        var y = new double[n];
        for (int r = 0; r < n; r++)
        {
            y[r] = 2 * xf[r * d] - xf[r * d + 5] + 0.1 * rng.NextGaussian();
        }

        var targets = new DenseMatrix(y, n, 1);
        var fromSingle = AffineLeastSquares.Fit(FeatureMatrix.FromSingle(xf, n, d), targets);
        var fromDouble = AffineLeastSquares.Fit(FeatureMatrix.FromDouble(xf.Select(v => (double)v).ToArray(), n, d), targets);
        for (int i = 0; i < d; i++)
        {
            Assert.Equal(fromDouble.Coefficients[i], fromSingle.Coefficients[i], 1e-12);
        }
    }

    [Fact]
    public void IntegerWeightsEqualDuplicatedRows()
    {
        var (x, y, _, _) = Synthetic(300, 6, 2, 5, noise: 0.3);
        var rng = new Rng(9);
        var weights = Enumerable.Range(0, 300).Select(_ => (double)rng.NextInt(4)).ToArray(); // includes zeros
        var duplicated = Enumerable.Range(0, 300).SelectMany(r => Enumerable.Repeat(r, (int)weights[r])).ToArray();

        var weighted = AffineLeastSquares.Fit(x, y, weights);
        var repeated = AffineLeastSquares.Fit(x, y, rows: duplicated);

        for (int i = 0; i < weighted.Coefficients.Length; i++)
        {
            Assert.Equal(repeated.Coefficients[i], weighted.Coefficients[i], 1e-10);
        }

        Assert.Equal(repeated.Intercept[0], weighted.Intercept[0], 1e-10);
        var mw = RegressionMetrics.Score(weighted, x, y, weights);
        var mr = RegressionMetrics.Score(repeated, x, y, rows: duplicated);
        Assert.Equal(mr.Mse, mw.Mse, 1e-12);
        Assert.Equal(mr.R2, mw.R2, 1e-10);
        Assert.Equal(mr.MeanDistance, mw.MeanDistance, 1e-12);
    }

    [Fact]
    public void DuplicatedColumnsGiveTheMinimumNormSolutionAndAWarning()
    {
        // y = 3·a − b + 2 with column a present twice: the minimum-norm solution splits 3 as 1.5 + 1.5.
        var rng = new Rng(21);
        int n = 400;
        var x = new double[n * 3];
        var y = new double[n];
        for (int r = 0; r < n; r++)
        {
            double a = rng.NextGaussian(), b = rng.NextGaussian();
            (x[r * 3], x[r * 3 + 1], x[r * 3 + 2]) = (a, a, b);
            y[r] = 3 * a - b + 2;
        }

        var fit = AffineLeastSquares.Fit(FeatureMatrix.FromDouble(x, n, 3), new DenseMatrix(y, n, 1));

        Assert.Equal(2, fit.EffectiveRank);
        Assert.True(fit.IsRankDeficient);
        Assert.NotNull(fit.Warning);
        Assert.Contains("rank-deficient", fit.Warning);
        Assert.Equal(1.5, fit.Coefficients[0], 1e-9);
        Assert.Equal(1.5, fit.Coefficients[1], 1e-9);
        Assert.Equal(-1.0, fit.Coefficients[2], 1e-9);
        Assert.Equal(2.0, fit.Intercept[0], 1e-9);

        var ridged = AffineLeastSquares.Fit(FeatureMatrix.FromDouble(x, n, 3), new DenseMatrix(y, n, 1), options: new AffineFitOptions(ridge: 1e-3));
        Assert.Null(ridged.Warning);
    }

    [Fact]
    public void CutoffDropsDirectionsBelowRcondTimesTheLargestSingularValue()
    {
        // Orthogonal columns with singular values 1 : 1e-3 : 1e-5 (exactly, via ±1 patterns).
        int n = 64;
        var x = new double[n * 3];
        var y = new double[n];
        for (int r = 0; r < n; r++)
        {
            double h1 = (r & 1) == 0 ? 1 : -1, h2 = (r & 2) == 0 ? 1 : -1, h3 = (r & 4) == 0 ? 1 : -1;
            (x[r * 3], x[r * 3 + 1], x[r * 3 + 2]) = (h1, 1e-3 * h2, 1e-5 * h3);
            y[r] = h1 + h2 + h3;
        }

        var features = FeatureMatrix.FromDouble(x, n, 3);
        var targets = new DenseMatrix(y, n, 1);
        var system = LeastSquaresSystem.Build(features, targets);
        Assert.Equal(8.0, system.SingularValues[0], 1e-12); // √64
        Assert.Equal(8e-3, system.SingularValues[1], 1e-14);
        Assert.Equal(8e-5, system.SingularValues[2], 1e-15);

        var all = system.Solve(new AffineFitOptions(rcond: 1e-6));
        Assert.Equal(3, all.EffectiveRank);
        Assert.Equal(new[] { 1.0, 1e3, 1e5 }, all.Coefficients.Select(v => Math.Round(v, 6)));

        var cut = system.Solve(new AffineFitOptions(rcond: 1e-4)); // 1e-5 < 1e-4 dropped, 1e-3 kept
        Assert.Equal(2, cut.EffectiveRank);
        Assert.Equal(1.0, cut.Coefficients[0], 1e-9);
        Assert.Equal(1e3, cut.Coefficients[1], 1e-6);
        Assert.Equal(0.0, cut.Coefficients[2]);
        Assert.NotNull(cut.Warning);

        var cut2 = system.Solve(new AffineFitOptions(rcond: 1e-2));
        Assert.Equal(1, cut2.EffectiveRank);
    }

    [Fact]
    public void RidgeShrinksByEigenvalueOverEigenvaluePlusLambda()
    {
        // One centred column with Σx² = 64: ridge λ = 64 halves the slope exactly.
        int n = 64;
        var x = Enumerable.Range(0, n).Select(r => (r & 1) == 0 ? 1.0 : -1.0).ToArray();
        var y = x.Select(v => 4 * v + 1).ToArray();
        var fit = AffineLeastSquares.Fit(FeatureMatrix.FromDouble(x, n, 1), new DenseMatrix(y, n, 1), options: new AffineFitOptions(ridge: 64));
        Assert.Equal(2.0, fit.Coefficients[0], 1e-12);
        Assert.Equal(1.0, fit.Intercept[0], 1e-12);
    }

    [Fact]
    public void ValidationPrefersACutoffThatIgnoresPureNoiseColumns()
    {
        var rng = new Rng(4);
        int n = 400;
        var x = new double[n * 2];
        var y = new double[n];
        for (int r = 0; r < n; r++)
        {
            // A tiny column (singular value ~1e-6 of the largest) that mirrors the noise on the fit rows only:
            // kept, it gets a coefficient ~1e5 that adds noise on validation rows; cut, it is ignored.
            double a = rng.NextGaussian(), g = rng.NextGaussian();
            x[r * 2] = a;
            x[r * 2 + 1] = 1e-6 * g;
            y[r] = a + 0.1 * (r < 40 ? g : rng.NextGaussian());
        }

        var fitRows = Enumerable.Range(0, 40).ToArray();
        var validation = Enumerable.Range(40, 360).ToArray();
        var candidates = new[] { new AffineFitOptions(0, 1e-7), new AffineFitOptions(0, 1e-3) };
        var choice = AffineLeastSquares.ChooseByValidation(FeatureMatrix.FromDouble(x, n, 2), new DenseMatrix(y, n, 1), null, fitRows, validation, candidates);
        Assert.Equal(1e-3, choice.Best.Rcond);
        Assert.Equal(2, choice.Candidates.Count);
        Assert.True(choice.Candidates[0].ValidationMse > choice.Candidates[1].ValidationMse);
    }

    [Fact]
    public void BadInputNamesTheField()
    {
        var x = FeatureMatrix.FromDouble(new double[6], 3, 2);
        var ex = Assert.Throws<BeliefLensInputException>(() => AffineLeastSquares.Fit(x, new DenseMatrix(new double[2], 2, 1)));
        Assert.StartsWith("targets:", ex.Message);
        ex = Assert.Throws<BeliefLensInputException>(() => AffineLeastSquares.Fit(x, new DenseMatrix(new double[3], 3, 1), [1, -1, 1]));
        Assert.StartsWith("weights[1]:", ex.Message);
        ex = Assert.Throws<BeliefLensInputException>(() => new AffineFitOptions(ridge: -1));
        Assert.StartsWith("ridge:", ex.Message);
        Assert.Throws<BeliefLensInputException>(() => FeatureMatrix.FromDouble(new double[5], 3, 2));
    }
}
