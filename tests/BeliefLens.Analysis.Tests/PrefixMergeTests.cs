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
