using BeliefLens.Core;
using BeliefLens.Analysis;

namespace BeliefLens.Analysis.Tests;

/// <summary>Merging rows that share a prefix (as a causal model's rows do) must not change any fit or metric.</summary>
public sealed class PrefixMergeTests
{
    /// <summary>
    /// All ternary sequences of length 4 (81 sequences, 324 rows, 3 + 9 + 27 + 81 = 120 distinct prefixes).
    /// Features: a random float32 vector per prefix (so rows of one prefix are bitwise equal); targets: a noisy affine
    /// function of the features, also one value per prefix. <paramref name="perturbRow"/> ≥ 0 changes that row's features.
    /// </summary>
    private static ActivationDataset TernaryPrefixes(int d = 6, int k = 3, int perturbRow = -1)
    {
        const int length = 4;
        int count = 81;
        var sequences = Enumerable.Range(0, count).Select(s => Enumerable.Range(0, length).Select(j => s / (int)Math.Pow(3, length - 1 - j) % 3).ToArray()).ToArray();
        var ids = ProbeSplits.PrefixIds(sequences);
        var rng = new Rng(7);
        var prefixFeatures = new Dictionary<long, float[]>();
        var prefixTargets = new Dictionary<long, double[]>();
        var coefficients = Enumerable.Range(0, d * k).Select(_ => rng.NextGaussian()).ToArray();
        int n = count * length;
        var x = new float[n * d];
        var y = new double[n * k];
        var seq = new int[n];
        var pos = new int[n];
        var prefix = new long[n];
        var prob = new double[n];
        for (int s = 0; s < count; s++)
        {
            for (int j = 0; j < length; j++)
            {
                int r = s * length + j;
                long id = ids[s][j];
                if (!prefixFeatures.TryGetValue(id, out var f))
                {
                    f = Enumerable.Range(0, d).Select(_ => (float)(3 + rng.NextGaussian())).ToArray();
                    prefixFeatures[id] = f;
                    prefixTargets[id] = Enumerable.Range(0, k).Select(t => 0.5 + Enumerable.Range(0, d).Sum(i => f[i] * coefficients[i * k + t]) * 0.1 + 0.3 * rng.NextGaussian()).ToArray();
                }

                f.CopyTo(x, r * d);
                prefixTargets[id].CopyTo(y, r * k);
                (seq[r], pos[r], prefix[r], prob[r]) = (s, j, id, Math.Pow(1.0 / 3, j + 1));
            }
        }

        if (perturbRow >= 0)
        {
            x[perturbRow * d] += 1e-3f;
        }

        return new ActivationDataset(FeatureMatrix.FromSingle(x, n, d), new DenseMatrix(y, n, k), seq, pos, prefix, prob);
    }

    [Fact]
    public void MergingRowsOfOnePrefixSumsTheirWeights()
    {
        var data = TernaryPrefixes();
        var all = Enumerable.Range(0, data.Rows).ToArray();
        var merged = data.Collapse(all, null)!;

        Assert.True(data.FeaturesFollowPrefixes);
        Assert.Equal(120, merged.Rows.Length);
        Assert.Equal(324, merged.SourceRowCount);
        Assert.Equal(data.Rows, merged.Weights.Sum()); // paper weighting: weights are multiplicities
        Assert.Equal(27, merged.Weights[0]); // prefix "0" (row 0) occurs in 27 sequences
        Assert.Equal(1, merged.Weights[3]); // a full-length prefix occurs once
        Assert.Equal(3, merged.Weights[2]); // "000" ends 3 sequences
        Assert.All(merged.Weights.Where((_, r) => !merged.Rows.Contains(r)), w => Assert.Equal(0, w));
    }

    [Fact]
    public void MergedFitEqualsTheFitOnEveryRow()
    {
        var data = TernaryPrefixes();
        var all = Enumerable.Range(0, data.Rows).ToArray();
        var rng = new Rng(11);
        var weights = Enumerable.Range(0, data.Rows).Select(_ => 0.1 + rng.NextDouble()).ToArray();
        foreach (var w in new[] { null, weights })
        {
            var direct = AffineLeastSquares.Fit(data.Features, data.Targets, w, all);
            var merged = ProbeEvaluator.Fit(data, data.Targets, w, all);
            Assert.Equal(120, merged.Rows); // it really fitted the merged rows
            Assert.Equal(direct.WeightTotal, merged.WeightTotal, 1e-10);
            for (int i = 0; i < direct.Coefficients.Length; i++)
            {
                Assert.Equal(direct.Coefficients[i], merged.Coefficients[i], 1e-10);
            }

            for (int t = 0; t < direct.Intercept.Length; t++)
            {
                Assert.Equal(direct.Intercept[t], merged.Intercept[t], 1e-10);
            }
        }
    }

    [Fact]
    public void EvaluationMetricsAndShuffleControlAreUnchangedByMerging()
    {
        var data = TernaryPrefixes();
        var sample = data.Sample(ProbeWeighting.Paper);
        var evaluation = ProbeEvaluator.Evaluate(data, ProbeWeighting.Paper, seed: 3, fitFraction: 0.3);

        // The same protocol without merging, spelled out on the original rows.
        var x = data.Features;
        var y = data.Targets;
        var inSample = RegressionMetrics.Score(AffineLeastSquares.Fit(x, y, null, sample.Rows), x, y, null, sample.Rows);
        var split = ProbeSplits.BySequence(data, sample, 0.3, 3);
        var heldOut = RegressionMetrics.Score(AffineLeastSquares.Fit(x, y, null, split.FitRows), x, y, null, split.TestRows);
        var shuffled = ProbeControls.ShuffledTargets(x, y, sample, 3 ^ 0x5DEECE66DUL);

        foreach (var (expected, actual) in new[] { (inSample, evaluation.InSample), (heldOut, evaluation.HeldOut), (shuffled, evaluation.Shuffled) })
        {
            Assert.Equal(expected.Points, actual.Points); // averaged over the original rows
            Assert.Equal(expected.WeightTotal, actual.WeightTotal, 1e-10);
            Assert.Equal(expected.Mse, actual.Mse, 1e-10);
            Assert.Equal(expected.R2, actual.R2, 1e-10);
            Assert.Equal(expected.MeanDistance, actual.MeanDistance, 1e-10);
            Assert.Equal(expected.TargetVariance, actual.TargetVariance, 1e-10);
        }

        Assert.True(evaluation.InSample.Mse > 0.01); // noisy targets: not a trivially perfect fit
        Assert.True(evaluation.Shuffled.Mse > evaluation.InSample.Mse);
    }

    /// <summary>The same dataset with its features stored once per prefix and read through a row index.</summary>
    private static ActivationDataset StoredOncePerPrefix(ActivationDataset data)
    {
        var prefixes = DistinctPrefixes.Of(data.PrefixIds);
        var stored = data.Features.SelectRows(prefixes.FirstRow);
        var indexed = FeatureMatrix.Indexed(stored, prefixes.RowToPrefix);
        return data.WithFeatures(indexed);
    }

    [Fact]
    public void DistinctPrefixesNumberPrefixesInOrderOfFirstAppearance()
    {
        var prefixes = DistinctPrefixes.Of([7, 3, 7, 9, 3, 3]);
        Assert.Equal([0, 1, 0, 2, 1, 1], prefixes.RowToPrefix);
        Assert.Equal([0, 1, 3], prefixes.FirstRow);
        Assert.Equal(3, prefixes.Count);
        Assert.Equal([0.5, 0.25, 0.5, 2, 0.25, 0.25], prefixes.Expand([0.5, 0.25, 2]));

        var data = TernaryPrefixes();
        var ternary = DistinctPrefixes.Of(data.PrefixIds);
        Assert.Equal(120, ternary.Count); // 3 + 9 + 27 + 81
        Assert.Equal(data.Rows, ternary.Rows);
        Assert.Equal(data.Sample(ProbeWeighting.Prob).Rows, ternary.FirstRow); // the rows prob weighting keeps
    }

    [Fact]
    public void FeaturesStoredOncePerPrefixGiveBitwiseTheSameProbe()
    {
        var data = TernaryPrefixes();
        var indexed = StoredOncePerPrefix(data);
        Assert.Equal(data.Rows, indexed.Features.Rows);
        Assert.Equal(120, indexed.Features.StoredRows);
        Assert.True(indexed.FeaturesFollowPrefixes);
        for (int r = 0; r < data.Rows; r++)
        {
            for (int c = 0; c < data.Features.Cols; c++)
            {
                Assert.Equal(data.Features[r, c], indexed.Features[r, c]);
            }
        }

        foreach (var weighting in new[] { ProbeWeighting.Paper, ProbeWeighting.Prob })
        {
            var expected = ProbeEvaluator.Evaluate(data, weighting, seed: 3, fitFraction: 0.3);
            var actual = ProbeEvaluator.Evaluate(indexed, weighting, seed: 3, fitFraction: 0.3);
            foreach (var (e, a) in new[] { (expected.InSample, actual.InSample), (expected.HeldOut, actual.HeldOut), (expected.Shuffled, actual.Shuffled) })
            {
                Assert.Equal(e, a); // every field, bit for bit: the same rows are fitted and scored in the same order
            }

            Assert.Equal(expected.Fit.Coefficients, actual.Fit.Coefficients);
        }
    }

    [Fact]
    public void ConcatenatedViewReadsThePartsSideBySide()
    {
        var data = TernaryPrefixes(d: 5);
        var prefixes = DistinctPrefixes.Of(data.PrefixIds);
        var a = FeatureMatrix.Indexed(data.Features.SelectRows(prefixes.FirstRow), prefixes.RowToPrefix);
        var bValues = Enumerable.Range(0, prefixes.Count * 3).Select(i => (float)Math.Sin(i)).ToArray();
        var b = FeatureMatrix.Indexed(FeatureMatrix.FromSingle(bValues, prefixes.Count, 3), prefixes.RowToPrefix);
        var both = FeatureMatrix.Concatenate([a, b]);
        Assert.Equal(8, both.Cols);
        Assert.Equal(data.Rows, both.Rows);
        Assert.Equal(prefixes.Count, both.StoredRows);
        var copy = both.SelectRows(Enumerable.Range(0, data.Rows).ToArray());
        for (int r = 0; r < data.Rows; r++)
        {
            for (int c = 0; c < 5; c++)
            {
                Assert.Equal(data.Features[r, c], copy[r, c]);
            }

            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(bValues[prefixes.RowToPrefix[r] * 3 + c], copy[r, 5 + c]);
            }
        }

        var other = FeatureMatrix.FromSingle(bValues, prefixes.Count, 3); // not indexed like a
        Assert.Throws<BeliefLensInputException>(() => FeatureMatrix.Concatenate([a, other]));
        Assert.Throws<BeliefLensInputException>(() => FeatureMatrix.Indexed(other, [0, prefixes.Count]));
    }

    [Fact]
    public void RowsWithDifferentFeaturesForOnePrefixAreNeverMerged()
    {
        var data = TernaryPrefixes(perturbRow: 40);
        var all = Enumerable.Range(0, data.Rows).ToArray();

        Assert.False(data.FeaturesFollowPrefixes);
        Assert.Null(data.Collapse(all, null));
        Assert.Equal(324, ProbeEvaluator.Fit(data, data.Targets, null, all).Rows);
    }
}
