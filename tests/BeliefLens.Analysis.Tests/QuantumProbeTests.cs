using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

public sealed class TriangularSvdTests
{
    // A = Q1 · diag(σ) · Q2ᵀ with Householder-built orthogonal Q1 (m×n part) and Q2, so its singular values are known.
    private static (double[] Columns, double[] A) KnownSpectrum(int m, int n, double[] sigma, ulong seed)
    {
        var rng = new Rng(seed);
        var u1 = Enumerable.Range(0, m).Select(_ => rng.NextGaussian()).ToArray();
        var u2 = Enumerable.Range(0, n).Select(_ => rng.NextGaussian()).ToArray();
        double n1 = u1.Sum(v => v * v), n2 = u2.Sum(v => v * v);
        var a = new double[m * n]; // row-major
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                // (I − 2u1u1ᵀ/n1)[:, :n] diag(σ) (I − 2u2u2ᵀ/n2)ᵀ
                double sum = 0;
                for (int l = 0; l < n; l++)
                {
                    double q1 = (i == l ? 1 : 0) - (2 * u1[i] * u1[l] / n1);
                    double q2 = (j == l ? 1 : 0) - (2 * u2[j] * u2[l] / n2);
                    sum += q1 * sigma[l] * q2;
                }

                a[(i * n) + j] = sum;
            }
        }

        var columns = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                columns[(j * m) + i] = a[(i * n) + j];
            }
        }

        return (columns, a);
    }

    [Fact]
    public void SmallSingularValuesKeepRelativeAccuracy()
    {
        // Spread over 12 decades.
        var sigma = Enumerable.Range(0, 8).Select(i => Math.Pow(10, -12.0 * i / 7)).ToArray();
        var (columns, _) = KnownSpectrum(40, 8, sigma, 3);
        var svd = TriangularSvd.Of(TriangularFactor.FromRows(columns, 40, 8, 0));
        // Absolute accuracy near machine precision of σ_max at every scale (a Gram matrix would give ~1e-8 below 1e-8).
        for (int j = 0; j < 8; j++)
        {
            Assert.True(Math.Abs(svd.SingularValues[j] - sigma[j]) < 1e-14, $"σ[{j}] = {svd.SingularValues[j]:R}, expected {sigma[j]:R}");
        }
    }

    [Fact]
    public void MergedBlocksGiveTheSameSingularValuesAndVectorsAsOneBlock()
    {
        const int m = 90, n = 6;
        var rng = new Rng(11);
        var a = Enumerable.Range(0, m * n).Select(_ => rng.NextGaussian()).ToArray();
        double[] Block(int from, int to)
        {
            var c = new double[(to - from) * n];
            for (int i = from; i < to; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    c[(j * (to - from)) + (i - from)] = a[(i * n) + j];
                }
            }

            return c;
        }

        var whole = TriangularSvd.Of(TriangularFactor.FromRows(Block(0, m), m, n, 0));
        var merged = TriangularFactor.FromRows(Block(0, 4), 4, n, 0); // fewer rows than columns: a trapezoid
        merged.Merge(TriangularFactor.FromRows(Block(4, 50), 46, n, 0));
        merged.Merge(TriangularFactor.FromRows(Block(50, m), m - 50, n, 0));
        var pieces = TriangularSvd.Of(merged);

        // Independent check: σ² are the eigenvalues of AᵀA, and ‖A v_j‖ = σ_j with orthonormal v_j.
        var gram = new double[n * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                for (int l = 0; l < n; l++)
                {
                    gram[(j * n) + l] += a[(i * n) + j] * a[(i * n) + l];
                }
            }
        }

        var eigen = SymmetricEigen.Decompose(gram, n).Values.OrderDescending().ToArray();
        for (int j = 0; j < n; j++)
        {
            Assert.Equal(eigen[j], whole.SingularValues[j] * whole.SingularValues[j], 9);
            Assert.Equal(whole.SingularValues[j], pieces.SingularValues[j], 12);
            var v = pieces.RightVector(j);
            double norm = 0;
            for (int i = 0; i < m; i++)
            {
                double av = 0;
                for (int l = 0; l < n; l++)
                {
                    av += a[(i * n) + l] * v[l];
                }

                norm += av * av;
            }

            Assert.Equal(pieces.SingularValues[j], Math.Sqrt(norm), 10);
            Assert.Equal(1.0, v.Sum(x => x * x), 12);
            for (int l = 0; l < j; l++)
            {
                Assert.Equal(0.0, v.Zip(pieces.RightVector(l), (p, q) => p * q).Sum(), 12);
            }
        }
    }
}

public sealed class CutoffRegressionTests
{
    private static (FeatureMatrix X, DenseMatrix Y, double[] W, double[] B, double[] C) Synthetic(int rows, int d, int k, ulong seed, double noise)
    {
        var rng = new Rng(seed);
        var x = Enumerable.Range(0, rows * d).Select(_ => 3 + rng.NextGaussian()).ToArray();
        var b = Enumerable.Range(0, d * k).Select(_ => rng.NextGaussian()).ToArray();
        var c = Enumerable.Range(0, k).Select(_ => rng.NextGaussian()).ToArray();
        var w = Enumerable.Range(0, rows).Select(_ => 0.1 + rng.NextDouble()).ToArray();
        var y = new double[rows * k];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < k; t++)
            {
                double v = c[t];
                for (int j = 0; j < d; j++)
                {
                    v += x[(r * d) + j] * b[(j * k) + t];
                }

                y[(r * k) + t] = v + (noise * rng.NextGaussian());
            }
        }

        return (FeatureMatrix.FromDouble(x, rows, d), new DenseMatrix(y, rows, k), w, b, c);
    }

    [Fact]
    public void RecoversAKnownAffineMapTo1e10()
    {
        const int d = 12, k = 3;
        var (x, y, w, b, c) = Synthetic(400, d, k, 5, noise: 0);
        var fit = CutoffRegression.Fit(x, y, w);
        for (int j = 0; j < d; j++)
        {
            for (int t = 0; t < k; t++)
            {
                Assert.True(Math.Abs(fit.Coefficients[(t * d) + j] - b[(j * k) + t]) < 1e-10, $"B[{j},{t}]");
            }
        }

        for (int t = 0; t < k; t++)
        {
            Assert.True(Math.Abs(fit.Intercept[t] - c[t]) < 1e-10, $"c[{t}]");
        }

        Assert.True(fit.Rmse < 1e-10 && fit.HeldOutRmse < 1e-10);
        Assert.Equal(53, fit.Cutoffs.Count);
        Assert.Equal(d + 1, fit.Rank);
    }

    [Fact]
    public void DuplicatedRowsChooseTheSameCutoffAsTheEquivalentWeightedRows()
    {
        // One feature is 1e-5 the scale of the others but carries signal, so large cutoffs lose it: the cutoff matters.
        const int rows = 300, d = 8, k = 2;
        var (_, _, w, _, _) = Synthetic(rows, d, k, 9, noise: 0);
        var gen = new Rng(21);
        var raw = Enumerable.Range(0, rows * d).Select(i => i % d == d - 1 ? 1e-5 * gen.NextGaussian() : 3 + gen.NextGaussian()).ToArray();
        var ys = new double[rows * k];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < k; t++)
            {
                ys[(r * k) + t] = (0.1 * t) + (0.05 * gen.NextGaussian()) + Enumerable.Range(0, d).Sum(j => raw[(r * d) + j] * (j == d - 1 ? 1e5 : 0.3 * (j + t)));
            }
        }

        var y = new DenseMatrix(ys, rows, k);
        var rng = new Rng(4);
        var copies = Enumerable.Range(0, rows).Select(_ => 1 + rng.NextInt(4)).ToArray();
        var weighted = w.Select((v, r) => v * copies[r]).ToArray();

        // Duplicated: each row `copies` times with its own weight, in a shuffled order.
        var order = Enumerable.Range(0, rows).SelectMany(r => Enumerable.Repeat(r, copies[r])).OrderBy(_ => rng.NextDouble()).ToArray();
        var dupX = order.SelectMany(r => raw.AsSpan(r * d, d).ToArray()).ToArray();
        var dupY = order.SelectMany(r => y.Row(r).ToArray()).ToArray();
        var dupW = order.Select(r => w[r]).ToArray();

        var one = CutoffRegression.Fit(FeatureMatrix.FromDouble(raw, rows, d), y, weighted);
        var many = CutoffRegression.Fit(FeatureMatrix.FromDouble(dupX, order.Length, d), new DenseMatrix(dupY, order.Length, k), dupW);
        Assert.Equal(one.Cutoff, many.Cutoff);
        Assert.Equal(rows, many.DistinctRows);
        // Same folds and fits; only rounding differs (the duplicated rows take a longer floating-point path).
        for (int c = 0; c < one.CrossValidationLoss.Count; c++)
        {
            Assert.Equal(1.0, many.CrossValidationLoss[c] / one.CrossValidationLoss[c], 10);
        }

        Assert.Equal(1.0, many.Rmse / one.Rmse, 10);
        Assert.Equal(1.0, many.HeldOutRmse / one.HeldOutRmse, 10);

        // The CV loss really depends on the cutoff here, and the choice is its minimum.
        Assert.True(one.CrossValidationLoss.Max() > 1.01 * one.CrossValidationLoss.Min());
        Assert.Equal(one.CrossValidationLoss.Min(), one.CrossValidationLoss[one.Cutoffs.ToList().IndexOf(one.Cutoff)]);
    }

    [Fact]
    public void TwoTargetBlocksAreFittedSeparatelyOnOneFactorisation()
    {
        const int d = 6;
        var (x, y1, w, b1, c1) = Synthetic(300, d, 2, 5, noise: 0);
        var (_, _, _, b2, c2) = Synthetic(300, d, 4, 6, noise: 0);
        var y2 = new double[300 * 4];
        for (int r = 0; r < 300; r++)
        {
            for (int t = 0; t < 4; t++)
            {
                y2[(r * 4) + t] = c2[t] + Enumerable.Range(0, d).Sum(j => x[r, j] * b2[(j * 4) + t]);
            }
        }

        var fits = CutoffRegression.Fit(x, [y1, new DenseMatrix(y2, 300, 4)], w);
        Assert.Equal((2, 4), (fits[0].Targets, fits[1].Targets));
        for (int j = 0; j < d; j++)
        {
            Assert.True(Math.Abs(fits[0].Coefficients[j] - b1[j * 2]) < 1e-10);
            Assert.True(Math.Abs(fits[1].Coefficients[(3 * d) + j] - b2[(j * 4) + 3]) < 1e-10);
        }

        Assert.True(Math.Abs(fits[0].Intercept[1] - c1[1]) < 1e-10 && Math.Abs(fits[1].Intercept[2] - c2[2]) < 1e-10);
    }

    [Fact]
    public void PaperGridHas53AscendingCutoffs()
    {
        var grid = CutoffRegressionOptions.PaperGrid;
        Assert.Equal(53, grid.Count);
        Assert.Equal(1e-15, grid[0]);
        Assert.Equal(1e-3, grid[^1], 15);
        Assert.Contains(1e-10, grid);
        Assert.Contains(1e-5, grid);
        Assert.True(Math.Abs(grid[2] - 1e-8) < 1e-22);
        Assert.True(grid.Zip(grid.Skip(1), (a, b) => b > a).All(v => v));
    }

    [Fact]
    public void FewerDistinctRowsThanFoldsIsAnInputError()
    {
        var x = FeatureMatrix.FromDouble(new double[] { 1, 1, 1, 2, 2 }, 5, 1);
        var y = new DenseMatrix(new double[] { 0, 0, 0, 1, 1 }, 5, 1);
        var error = Assert.Throws<BeliefLensInputException>(() => CutoffRegression.Fit(x, y, [1, 1, 1, 1, 1]));
        Assert.Contains("folds", error.Message);
    }
}

public sealed class AnchorSetTests
{
    [Theory]
    [InlineData("mess3", 9_840)]
    [InlineData("tom_quantum", 87_380)]
    [InlineData("fanizza", 510)]
    public void AnchorCountsAtContextEightMatchThePaper(string process, int count)
    {
        var anchors = AnchorSet.Create(BuiltinProcesses.Create(process), 8);
        Assert.Equal(count, anchors.Count);
        Assert.Equal(1.0, anchors.Weights.Sum(), 12);

        // Each length carries total weight 1/n_ctx, and weights are P(w)/n_ctx.
        var byLength = Enumerable.Range(0, anchors.Count).GroupBy(anchors.Length).ToDictionary(g => g.Key, g => g.Sum(a => anchors.Weights[a]));
        Assert.Equal(8, byLength.Count);
        Assert.All(byLength.Values, total => Assert.Equal(0.125, total, 12));
    }

    [Fact]
    public void MoonAnchorsAreThePrefixesWithoutTwoResetsInARow()
    {
        // post_quantum forbids exactly the words containing "00" (μ0·m0 = 0): a_L = 2a_{L−1} + 2a_{L−2}, a_1 = 3, a_2 = 8.
        var counts = new long[9];
        (counts[1], counts[2]) = (3, 8);
        for (int l = 3; l <= 8; l++)
        {
            counts[l] = (2 * counts[l - 1]) + (2 * counts[l - 2]);
        }

        Assert.Equal(counts.Sum(), AnchorSet.Create(BuiltinProcesses.Create("post_quantum"), 8).Count);
    }

    [Fact]
    public void AnchorsCarryExactBeliefsAndLeadToFullSequences()
    {
        var process = BuiltinProcesses.Create("mess3");
        var anchors = AnchorSet.Create(process, 4);
        var sequences = anchors.Sequences();
        var sequenceOf = anchors.SequenceOf();
        var next = new double[3];
        for (int a = 0; a < anchors.Count; a += 7)
        {
            var prefix = anchors.Prefix(a);
            Assert.Equal(prefix, sequences[sequenceOf[a]].Take(prefix.Length));
            var belief = process.InitialBelief.ToArray();
            double p = 1;
            foreach (int x in prefix)
            {
                p *= BeliefMath.Update(process, belief, x, next);
                next.CopyTo(belief, 0);
            }

            Assert.Equal(p / 4, anchors.Weights[a], 14);
            for (int s = 0; s < 3; s++)
            {
                Assert.Equal(belief[s], anchors.Beliefs[a, s], 14);
            }
        }
    }

    [Fact]
    public void MarkovBeliefsOfLongPrefixesAreTheLastWord()
    {
        var process = BuiltinProcesses.Create("mess3");
        var markov = MarkovApproximation.Create(process, 2);
        var anchors = AnchorSet.Create(process, 4);
        var beliefs = anchors.BeliefsUnder(markov, out int restarts);
        Assert.Equal(0, restarts);
        for (int a = 0; a < anchors.Count; a++)
        {
            var prefix = anchors.Prefix(a);
            if (prefix.Length < 2)
            {
                continue;
            }

            string word = string.Concat(prefix.TakeLast(2).Select(x => process.TokenNames[x]));
            int state = markov.StateNames.ToList().IndexOf(word);
            for (int s = 0; s < markov.StateCount; s++)
            {
                Assert.Equal(s == state ? 1.0 : 0.0, beliefs[a, s], 12);
            }
        }
    }
}

public sealed class CosineGeometryTests
{
    private static (DenseMatrix Beliefs, double[] Weights) Anchors() 
    {
        var anchors = AnchorSet.Create(BuiltinProcesses.Create("mess3"), 5);
        return (anchors.Beliefs, anchors.Weights);
    }

    [Fact]
    public void PerfectPredictionsPreserveTheGeometry()
    {
        var (beliefs, weights) = Anchors();
        Assert.Equal(1.0, CosineGeometry.RSquared(beliefs, beliefs, weights), 12);

        // Scaling each prediction leaves every cosine unchanged.
        var scaled = new DenseMatrix(beliefs.Data.Select((v, i) => v * (1 + (i / 3 % 5))).ToArray(), beliefs.Rows, beliefs.Cols);
        Assert.Equal(1.0, CosineGeometry.RSquared(beliefs, scaled, weights, maxPairs: 1000), 12);
    }

    [Fact]
    public void SampledPairsEstimateTheExhaustiveWeightedValue()
    {
        var (beliefs, weights) = Anchors();
        var rng = new Rng(2);
        var noisy = new DenseMatrix(beliefs.Data.Select(v => v + (0.2 * rng.NextGaussian())).ToArray(), beliefs.Rows, beliefs.Cols);
        double exact = CosineGeometry.RSquared(beliefs, noisy, weights, maxPairs: int.MaxValue);
        double sampled = CosineGeometry.RSquared(beliefs, noisy, weights, maxPairs: 100_000, seed: 3);
        Assert.Equal(sampled, CosineGeometry.RSquared(beliefs, noisy, weights, maxPairs: 100_000, seed: 3));
        Assert.InRange(exact, 0.05, 0.95);
        Assert.Equal(exact, sampled, 1);
    }
}
