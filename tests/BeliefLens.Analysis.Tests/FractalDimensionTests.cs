using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

/// <summary>Box-counting and correlation dimensions on sets of known dimension, and on the Mess3 belief fractal.</summary>
public sealed class FractalDimensionTests
{
    private static WeightedCloud Uniform(List<double[]> points)
    {
        int dims = points[0].Length;
        return new WeightedCloud(points.SelectMany(p => p).ToArray(), Enumerable.Repeat(1.0, points.Count).ToArray(), dims);
    }

    // The middle-thirds Cantor set to depth 12 (the 4096 left ends of its level-12 intervals, equal weights): with boxes
    // of side ε = 3^-k(1 − 1e-9) from 0, each level-k interval's points fill exactly one box (the shrink keeps left ends
    // off the box edges against rounding, and is far below the 3^-12 gap at the right), so I(ε) = k ln 2 and
    // D = ln 2 / ln 3 exactly.
    private static WeightedCloud Cantor()
    {
        var points = new List<double[]> { new[] { 0.0 } };
        double length = 1;
        for (int level = 0; level < 12; level++)
        {
            length /= 3;
            points = points.SelectMany(p => new[] { new[] { p[0] }, new[] { p[0] + (2 * length) } }).ToList();
        }

        return Uniform(points);
    }

    private static double[] CantorScales() => [.. Enumerable.Range(2, 8).Select(k => Math.Pow(3, -k) * (1 - 1e-9))];

    [Fact]
    public void CantorSetHasDimensionLog2OverLog3()
    {
        var cloud = Cantor();
        var scales = CantorScales();
        var window = new ScaleWindow(scales[^1], scales[0], "test", "test");
        var information = FractalDimension.InformationCurve(cloud, scales);
        for (int k = 0; k < scales.Length; k++)
        {
            Assert.Equal((k + 2) * Math.Log(2), information[k], 9);
        }

        var fit = FractalDimension.Fit("box", window, scales, information, sign: -1);
        Assert.Equal(Math.Log(2) / Math.Log(3), fit.Dimension!.Value, 9);
        Assert.Equal(1, fit.FitR2!.Value, 9);
        var correlation = FractalDimension.Correlation(cloud, window, sample: 2000, seed: 1);
        Assert.InRange(correlation.Dimension!.Value, 0.55, 0.71); // D2 = D1 for this uniform self-similar measure, up to lacunarity
    }

    [Fact]
    public void FilledSquareHasDimensionTwo()
    {
        var points = new List<double[]>();
        for (int i = 0; i < 400; i++)
        {
            for (int j = 0; j < 400; j++)
            {
                points.Add([(i + 0.5) / 400, (j + 0.5) / 400]);
            }
        }

        var cloud = Uniform(points);
        var window = new ScaleWindow(0.01, 0.1, "test", "test");
        Assert.InRange(FractalDimension.Information(cloud, window).Dimension!.Value, 1.97, 2.03);
        Assert.InRange(FractalDimension.Correlation(cloud, window, sample: 2000, seed: 2).Dimension!.Value, 1.85, 2.1);
        Assert.Equal(Math.Sqrt(2) * 399 / 400, cloud.Diameter(), 12);
    }

    [Fact]
    public void WeightsCountNotPoints()
    {
        // Two far apart atoms, one with 99% of the mass: I(ε) = H(0.99, 0.01) at every scale below their distance.
        var cloud = new WeightedCloud([0, 0, 1, 1], [99, 1], dims: 2);
        double expected = -(0.99 * Math.Log(0.99)) - (0.01 * Math.Log(0.01));
        Assert.All(FractalDimension.InformationCurve(cloud, [0.5, 0.1, 0.001]), i => Assert.Equal(expected, i, 12));
    }

    [Fact]
    public void EmptyWindowGivesNoDimensionAndSaysWhy()
    {
        var fit = FractalDimension.Information(Cantor(), new ScaleWindow(0.2, 0.1, "probe RMSE", "diameter/10"));
        Assert.Null(fit.Dimension);
        Assert.Contains("window is empty", fit.Warning, StringComparison.Ordinal);
    }

    [Fact]
    public void BeliefsAtDepthAreTheDepthLDistribution()
    {
        var process = BuiltinProcesses.Mess3();
        var msp = MixedStatePresentation.Build(process, 4);
        var cloud = FractalDimension.BeliefsAtDepth(msp, 4);
        var tree = BeliefTree.Enumerate(process, 4);

        // Every length-4 prefix's belief, merged by belief, with its probability: the same weights as the MSP's mass.
        double entropyTree = 0;
        for (int k = tree.DepthStart[4]; k < tree.Count; k++)
        {
            double p = Math.Exp(tree.LogProbability[k]);
            entropyTree -= p * Math.Log(p);
        }

        Assert.Equal(81, cloud.Count); // Mess3's 81 length-4 prefixes have distinct beliefs
        Assert.Equal(entropyTree, -cloud.Weights.Sum(w => w * Math.Log(w)), 10);
    }

    /// <summary>
    /// The acceptance check at the depth: box-counting D1 of the depth-12 MSP within 0.1 of d_LY for both
    /// Mess3 cases (about 2 s each: the MSP holds ~800k beliefs).
    /// </summary>
    [Theory]
    [InlineData(0.05, 0.85)]
    [InlineData(0.15, 0.6)]
    public void Depth12MspBoxCountingMatchesLyapunovDimension(double x, double alpha)
    {
        var (report, _) = BeliefDimensions.ForProcess(BuiltinProcesses.Mess3(x, alpha), new IfsOptions(200_000), mspDepth: 12);
        Assert.NotNull(report.DInfoMsp);
        Assert.InRange(Math.Abs(report.DInfoMsp!.Value - report.DLy), 0, 0.1);
        Assert.True(report.FitR2Msp > 0.95, $"R² {report.FitR2Msp}");
        Assert.True(report.WindowMsp.Upper > report.WindowMsp.Lower * 5, "the window spans less than a factor 5");
    }
}
