using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

public sealed class PcaTests
{
    [Fact]
    public void RecoversKnownVarianceRatiosOfRotatedAxisAlignedData()
    {
        // Points ±a·e1, ±b·e2, ±c·e3 (each once) have per-axis variances 2a²/6, 2b²/6, 2c²/6 exactly,
        // and a rotation (and an offset) must not change them.
        double a = 3, b = 2, c = 1;
        var rows = new List<double[]> { new[] { a, 0, 0 }, new[] { -a, 0, 0 }, new[] { 0, b, 0 }, new[] { 0, -b, 0 }, new[] { 0, 0, c }, new[] { 0, 0, -c } };
        var rotation = Rotation(0.7, 1.1);
        var data = rows.SelectMany(r => Multiply(rotation, r)).Select(v => v + 5).ToArray();
        var pca = Pca.Fit(data, 3);
        double total = (a * a) + (b * b) + (c * c);
        Assert.Equal(a * a / total, pca.Spectrum.ExplainedRatio[0], 12);
        Assert.Equal(b * b / total, pca.Spectrum.ExplainedRatio[1], 12);
        Assert.Equal(c * c / total, pca.Spectrum.ExplainedRatio[2], 12);
        Assert.Equal(2 * a * a / 6, pca.Spectrum.Variances[0], 12);
        Assert.Equal(1.0, pca.Spectrum.Cumulative[^1], 12);
        Assert.All(pca.Mean, m => Assert.Equal(5, m, 12));

        // The first axis is the rotated e1, its largest entry made positive.
        var e1 = Multiply(rotation, [1, 0, 0]);
        double dot = Enumerable.Range(0, 3).Sum(i => pca.Components[i] * e1[i]);
        Assert.Equal(1.0, Math.Abs(dot), 12);
        Assert.True(pca.Components[..3].MaxBy(v => Math.Abs(v)) > 0);
    }

    [Fact]
    public void TransformOfTheMeanIsZeroAndAxesAreOrthonormal()
    {
        var rng = new Rng(5);
        var data = Enumerable.Range(0, 300).Select(_ => rng.NextDouble()).ToArray();
        var pca = Pca.Fit(data, 5);
        Assert.All(pca.Transform(pca.Mean, 5), v => Assert.Equal(0, v, 12));
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double dot = Enumerable.Range(0, 5).Sum(k => pca.Components[(i * 5) + k] * pca.Components[(j * 5) + k]);
                Assert.Equal(i == j ? 1 : 0, dot, 12);
            }
        }

        // Projections keep the variance: the variance of coordinate k is the k-th eigenvalue.
        var projected = pca.Transform(data, 5);
        for (int k = 0; k < 5; k++)
        {
            double variance = Enumerable.Range(0, 60).Sum(r => projected[(r * 5) + k] * projected[(r * 5) + k]) / 60;
            Assert.Equal(pca.Spectrum.Variances[k], variance, 12);
        }
    }

    [Fact]
    public void BeliefsOfThreeStatesSpanTwoComponents()
    {
        var pca = Pca.Fit([1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 0.3, 0.5], 3);
        Assert.Equal(0, pca.Spectrum.ExplainedRatio[2], 12);
        Assert.Equal(2, pca.Spectrum.For99);
    }

    [Fact]
    public void AWeightOfTwoEqualsDuplicatingTheRow()
    {
        var rng = new Rng(3);
        var data = Enumerable.Range(0, 40 * 4).Select(_ => rng.NextDouble()).ToArray();
        var weights = Enumerable.Range(0, 40).Select(k => k == 7 ? 2.0 : 1.0).ToArray();
        var duplicated = data.Concat(data.Skip(7 * 4).Take(4)).ToArray();
        var weighted = Pca.Fit(data, 4, weights);
        var plain = Pca.Fit(duplicated, 4);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(plain.Spectrum.Variances[k], weighted.Spectrum.Variances[k], 12);
            Assert.Equal(plain.Mean[k], weighted.Mean[k], 12);
        }
    }

    [Fact]
    public void ASavedExplainedRatioRebuildsTheSameSpectrum()
    {
        var spectrum = PcaResult.FromVariances([50, 30, 15, 4, 1]);
        var rebuilt = PcaResult.FromVariances(spectrum.ExplainedRatio);
        Assert.Equal(spectrum.ExplainedRatio, rebuilt.ExplainedRatio);
        Assert.Equal(spectrum.Cumulative, rebuilt.Cumulative);
        Assert.Equal((2, 3, 3, 4), (rebuilt.For80, rebuilt.For90, rebuilt.For95, rebuilt.For99));
    }

    [Fact]
    public void RowsThatAreNotWholeAreAnInputErrorNamingTheField()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => Pca.Fit([1, 2, 3, 4, 5], 2));
        Assert.StartsWith("data:", error.Message, StringComparison.Ordinal);
        var pca = Pca.Fit([1, 2, 3, 5], 2);
        Assert.StartsWith("count:", Assert.Throws<BeliefLensInputException>(() => pca.Transform([1, 2], 3)).Message, StringComparison.Ordinal);
    }

    private static double[,] Rotation(double alpha, double beta)
    {
        double ca = Math.Cos(alpha), sa = Math.Sin(alpha), cb = Math.Cos(beta), sb = Math.Sin(beta);
        var rz = new[,] { { ca, -sa, 0 }, { sa, ca, 0 }, { 0, 0, 1 } };
        var rx = new[,] { { 1, 0, 0 }, { 0, cb, -sb }, { 0, sb, cb } };
        var r = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                for (int k = 0; k < 3; k++)
                {
                    r[i, j] += rz[i, k] * rx[k, j];
                }
            }
        }

        return r;
    }

    private static double[] Multiply(double[,] m, double[] v) =>
        Enumerable.Range(0, 3).Select(i => (m[i, 0] * v[0]) + (m[i, 1] * v[1]) + (m[i, 2] * v[2])).ToArray();
}
