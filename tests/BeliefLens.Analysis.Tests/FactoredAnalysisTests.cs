using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

public sealed class FactoredAnalysisTests
{
    private static double[] Identity(int d) => Enumerable.Range(0, d * d).Select(k => k / d == k % d ? 1.0 : 0).ToArray();

    [Fact]
    public void OverlapIsOneForTheSameSubspaceZeroForOrthogonalAndKOverDForRandom()
    {
        const int d = 40;
        var same = FactoredAnalysis.SubspaceOverlap(Identity(d), Identity(d), d, 20);
        Assert.All(same, o => Assert.Equal(1, o, 12));

        // Axes 0..19 against axes 20..39: orthogonal for every k ≤ 20.
        var shifted = new double[d * d];
        for (int k = 0; k < d; k++)
        {
            shifted[(k * d) + ((k + 20) % d)] = 1;
        }

        Assert.All(FactoredAnalysis.SubspaceOverlap(Identity(d), shifted, d, 20), o => Assert.Equal(0, o, 12));

        // Random orthonormal axes (Gram–Schmidt of Gaussians): the mean overlap at k is close to k/d.
        var rng = new Rng(11);
        double mean = 0;
        const int trials = 200;
        for (int trial = 0; trial < trials; trial++)
        {
            var a = RandomAxes(d, 5, rng);
            var b = RandomAxes(d, 5, rng);
            mean += FactoredAnalysis.SubspaceOverlap(a, b, d, 5)[4] / trials;
        }

        Assert.InRange(mean, 0.8 * FactoredAnalysis.RandomOverlap(5, d), 1.2 * FactoredAnalysis.RandomOverlap(5, d));
    }

    private static double[] RandomAxes(int d, int k, Rng rng)
    {
        var axes = new double[d * d];
        for (int a = 0; a < k; a++)
        {
            var v = Enumerable.Range(0, d).Select(_ => rng.NextGaussian()).ToArray();
            for (int b = 0; b < a; b++)
            {
                double dot = Enumerable.Range(0, d).Sum(j => v[j] * axes[(b * d) + j]);
                for (int j = 0; j < d; j++)
                {
                    v[j] -= dot * axes[(b * d) + j];
                }
            }

            double norm = Math.Sqrt(v.Sum(x => x * x));
            for (int j = 0; j < d; j++)
            {
                axes[(a * d) + j] = v[j] / norm;
            }
        }

        return axes;
    }

    [Fact]
    public void VaryOneSpectrumSeesOnlyTheVaryingDirection()
    {
        // Activations = base offset per group (large, any direction) + a factor effect along axis 2 only.
        const int d = 6, groups = 30, perGroup = 10;
        var rng = new Rng(5);
        var data = new double[groups * perGroup * d];
        var group = new int[groups * perGroup];
        for (int g = 0; g < groups; g++)
        {
            var offset = Enumerable.Range(0, d).Select(_ => 10 * rng.NextGaussian()).ToArray();
            for (int v = 0; v < perGroup; v++)
            {
                int row = (g * perGroup) + v;
                group[row] = g;
                for (int j = 0; j < d; j++)
                {
                    data[(row * d) + j] = offset[j] + (j == 2 ? rng.NextGaussian() : 0);
                }
            }
        }

        var subspace = FactoredAnalysis.VaryOneSpectrum(data, d, group);
        Assert.Equal(1, subspace.DimsAt95);
        Assert.Equal(1, Math.Abs(subspace.Axes[2]), 9);
    }

    [Fact]
    public void FactorBeliefsOfAnIndependentProductAreTheFactorsOwnBeliefs()
    {
        var mess3 = BuiltinProcesses.Mess3(0.15, 0.6);
        var product = ProcessBuilders.Product([new ProductFactor(mess3), new ProductFactor(mess3)]);
        var (tokens, group) = VaryOne.Generate(product, 1, 3, 4, 5, new Rng(2));
        Assert.Equal(3 * 4 * 5, tokens.Length);

        // Within a group (same base, same position) factor 0's token is frozen and factor 1's varies.
        for (int r = 0; r < tokens.Length; r++)
        {
            int b = r / (4 * 5), t = r % 5;
            Assert.Equal((b * 5) + t, group[r]);
            Assert.Equal(product.Composite!.FactorTokens(tokens[r])[0], product.Composite.FactorTokens(tokens[(b * 4 * 5) + t])[0]);
        }

        var joint = new DenseMatrix([.. product.InitialBelief], 1, 9);
        var factors = FactoredAnalysis.FactorBeliefs(joint, product);
        Assert.Equal(2, factors.Length);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(mess3.InitialBelief[i], factors[0][0, i], 12);
            Assert.Equal(mess3.InitialBelief[i], factors[1][0, i], 12);
        }
    }
}
