using BeliefLens.Core;
using BeliefLens.Analysis;

namespace BeliefLens.Analysis.Tests;

public sealed class SymmetricEigenTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    [InlineData(33)]
    [InlineData(130)]
    public void ReconstructsRandomSymmetricMatricesWithOrthonormalVectors(int n)
    {
        var rng = new Rng((ulong)n);
        var a = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                a[i * n + j] = a[j * n + i] = rng.NextGaussian();
            }
        }

        var eigen = SymmetricEigen.Decompose(a, n);
        for (int i = 1; i < n; i++)
        {
            Assert.True(eigen.Values[i - 1] >= eigen.Values[i]);
        }

        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double reconstructed = 0, gram = 0;
                for (int m = 0; m < n; m++)
                {
                    reconstructed += eigen.VectorRows[m * n + i] * eigen.Values[m] * eigen.VectorRows[m * n + j];
                    gram += eigen.VectorRows[i * n + m] * eigen.VectorRows[j * n + m];
                }

                Assert.Equal(a[i * n + j], reconstructed, 1e-10);
                Assert.Equal(i == j ? 1.0 : 0.0, gram, 1e-12);
            }
        }
    }

    [Fact]
    public void KnownSpectrumAndRepeatedAndZeroEigenvalues()
    {
        // [[2,1],[1,2]] → 3, 1.
        var two = SymmetricEigen.Decompose([2, 1, 1, 2], 2);
        Assert.Equal(3.0, two.Values[0], 1e-14);
        Assert.Equal(1.0, two.Values[1], 1e-14);

        // Rank-1 all-ones 4×4 → 4, 0, 0, 0; and the zero matrix.
        var ones = SymmetricEigen.Decompose(Enumerable.Repeat(1.0, 16).ToArray(), 4);
        Assert.Equal(4.0, ones.Values[0], 1e-13);
        Assert.All(ones.Values.Skip(1), v => Assert.Equal(0.0, v, 1e-13));
        Assert.All(SymmetricEigen.Decompose(new double[9], 3).Values, v => Assert.Equal(0.0, v));
    }
}
