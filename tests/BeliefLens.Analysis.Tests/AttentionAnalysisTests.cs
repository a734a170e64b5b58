using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

/// <summary>The decay fit, the OV mapping into belief coordinates and the centring across tokens.</summary>
public sealed class AttentionAnalysisTests
{
    /// <summary>A causal softmax pattern with weights λ^(q−k), each query row normalised by its own Z_q.</summary>
    private static double[] SoftmaxExponential(double lambda, int positions)
    {
        var pattern = new double[positions * positions];
        for (int q = 0; q < positions; q++)
        {
            double z = Enumerable.Range(0, q + 1).Sum(n => Math.Pow(lambda, n));
            for (int k = 0; k <= q; k++)
            {
                pattern[(q * positions) + k] = Math.Pow(lambda, q - k) / z;
            }
        }

        return pattern;
    }

    [Theory]
    [InlineData(0.85)]
    [InlineData(0.55)]
    [InlineData(0.25)]
    public void APureSoftmaxExponentialIsFittedExactlyDespiteTheNormaliser(double lambda)
    {
        var fit = AttentionAnalysis.FitDecay(SoftmaxExponential(lambda, 10), 10);
        Assert.Equal(lambda, fit.Lambda, 12);
        Assert.Equal(1.0, fit.R2, 12);
        for (int n = 0; n < 10; n++)
        {
            Assert.Equal(Math.Pow(lambda, n), fit.Profile[n], 12); // intercepts removed: λⁿ exactly
        }

        // The plain mean by distance is biased low: long distances are seen only from late queries with large Z_q.
        Assert.True(fit.MeanProfileLambda < lambda);
        double expectedMean9 = Math.Pow(lambda, 9) / Enumerable.Range(0, 10).Sum(n => Math.Pow(lambda, n));
        Assert.Equal(expectedMean9, fit.MeanByDistance[9], 14);
    }

    [Fact]
    public void AnAlternatingPatternFitsOnlyTheModulusBadly()
    {
        // Weights that a negative λ would need cannot be a softmax; a head attending only to even distances is the
        // closest positive pattern: its log is not linear in n, so the fit explains little.
        const int p = 10;
        var pattern = new double[p * p];
        for (int q = 0; q < p; q++)
        {
            var weights = Enumerable.Range(0, q + 1).Select(k => (q - k) % 2 == 0 ? Math.Pow(0.5, q - k) : 1e-3 * Math.Pow(0.5, q - k)).ToArray();
            double z = weights.Sum();
            for (int k = 0; k <= q; k++)
            {
                pattern[(q * p) + k] = weights[k] / z;
            }
        }

        var fit = AttentionAnalysis.FitDecay(pattern, p);
        Assert.True(fit.R2 < 0.5, $"R² {fit.R2}");
    }

    [Fact]
    public void TooShortAPatternIsRefusedInOneLine()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => AttentionAnalysis.FitDecay(new double[4], 2));
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void OvVectorsMapThroughTheLinearPartOnlyAndCentre()
    {
        // Features x ∈ R², targets b = (x0, x1, 1 − x0 − x1) + intercept-only offset: the fit's linear part is
        // [[1, 0, −1], [0, 1, −1]], so a displacement v maps to (v0, v1, −v0 − v1) whatever the intercept.
        var rows = new List<double>();
        var targets = new List<double>();
        var rng = new Random(3);
        for (int i = 0; i < 50; i++)
        {
            double a = rng.NextDouble() * 0.5, b = rng.NextDouble() * 0.5;
            rows.AddRange([a, b]);
            targets.AddRange([a + 0.1, b, 0.9 - a - b]);
        }

        var fit = AffineLeastSquares.Fit(FeatureMatrix.FromDouble(rows.ToArray(), 50, 2), new DenseMatrix(targets.ToArray(), 50, 3));
        var mapped = AttentionAnalysis.ToBeliefCoordinates([0.2, -0.1], fit);
        Assert.Equal(0.2, mapped[0], 10);
        Assert.Equal(-0.1, mapped[1], 10);
        Assert.Equal(-0.1, mapped[2], 10);

        // A common vector added to every token's OV output disappears after centring with the token weights.
        double[][] shifts = [[2, -1, -1], [-1, 2, -1], [-1, -1, 2]];
        var offset = shifts.Select(v => v.Select((x, i) => x + (new[] { 5.0, 5, -20 })[i]).ToArray()).ToArray();
        var centred = AttentionAnalysis.CentreAcrossTokens(offset, [1.0 / 3, 1.0 / 3, 1.0 / 3]);
        for (int z = 0; z < 3; z++)
        {
            Assert.Equal(1.0, AttentionAnalysis.Cosine(centred[z], shifts[z]), 12);
        }

        Assert.True(AttentionAnalysis.Cosine(offset[0], shifts[0]) < 0.9);
        Assert.True(double.IsNaN(AttentionAnalysis.Cosine([0, 0], [1, 0])));
    }
}
