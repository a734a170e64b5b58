using BeliefLens.Core;
using BeliefLens.Analysis;

namespace BeliefLens.Analysis.Tests;

public sealed class DatasetAndControlsTests
{
    /// <summary>All 2^3 binary sequences of length 3, with i.i.d. fair tokens: P(prefix of length j+1) = 2^-(j+1).
    /// Features = one-hot-ish code of the prefix (identical for identical prefixes), target = fraction of ones so far.</summary>
    private static ActivationDataset AllBinarySequences(int length = 3)
    {
        var sequences = Enumerable.Range(0, 1 << length).Select(s => Enumerable.Range(0, length).Select(j => (s >> (length - 1 - j)) & 1).ToArray()).ToArray();
        var ids = ProbeSplits.PrefixIds(sequences);
        var features = new List<double>();
        var targets = new List<double>();
        var seq = new List<int>();
        var pos = new List<int>();
        var prefix = new List<long>();
        var prob = new List<double>();
        for (int s = 0; s < sequences.Length; s++)
        {
            int ones = 0;
            for (int j = 0; j < length; j++)
            {
                ones += sequences[s][j];
                features.AddRange([j, ones, ones * j]);
                targets.Add((double)ones / (j + 1));
                seq.Add(s);
                pos.Add(j);
                prefix.Add(ids[s][j]);
                prob.Add(Math.Pow(0.5, j + 1));
            }
        }

        int n = seq.Count;
        return new ActivationDataset(FeatureMatrix.FromDouble(features.ToArray(), n, 3), new DenseMatrix(targets.ToArray(), n, 1),
            seq.ToArray(), pos.ToArray(), prefix.ToArray(), prob.ToArray());
    }

    [Fact]
    public void PrefixIdsAreEqualExactlyForEqualPrefixes()
    {
        var ids = ProbeSplits.PrefixIds([[0, 1, 1], [0, 1, 0], [1, 1, 0]]);
        Assert.Equal(ids[0][0], ids[1][0]);
        Assert.Equal(ids[0][1], ids[1][1]);
        Assert.NotEqual(ids[0][2], ids[1][2]);
        Assert.NotEqual(ids[0][0], ids[2][0]);
        Assert.NotEqual(ids[0][1], ids[2][1]); // same last token, different history
        Assert.Equal(7, ids.SelectMany(r => r).Distinct().Count()); // 0, 01, 011, 010, 1, 11, 110
    }

    [Fact]
    public void ProbWeightingKeepsEachPrefixOnceWithItsProbability()
    {
        var data = AllBinarySequences();
        var paper = data.Sample(ProbeWeighting.Paper);
        var prob = data.Sample(ProbeWeighting.Prob);

        Assert.Equal(24, paper.Rows.Length);
        Assert.Null(paper.Weights);
        Assert.Equal(2 + 4 + 8, prob.Rows.Length); // distinct prefixes, not rows
        Assert.Equal(prob.Rows.Length, prob.Rows.Select(r => data.PrefixIds[r]).Distinct().Count());

        // Each position's distinct prefixes carry total probability 1: P summed once per prefix, not count × P.
        for (int j = 0; j < 3; j++)
        {
            double total = prob.Rows.Where(r => data.Positions[r] == j).Sum(r => prob.Weights![r]);
            Assert.Equal(1.0, total, 15);
        }

        // Position 0 prefix "0" occurs in 4 rows; counting rows × P would give it weight 4 × 0.5 = 2.
        int firstZero = prob.Rows.Single(r => data.Positions[r] == 0 && data.Targets[r, 0] == 0);
        Assert.Equal(0.5, prob.Weights![firstZero]);
        Assert.Equal(0, firstZero); // the first row of that prefix is kept
    }

    [Fact]
    public void ProbWeightedMetricsEqualTheProbabilityWeightedAverageOverDistinctPrefixes()
    {
        var data = AllBinarySequences();
        var sample = data.Sample(ProbeWeighting.Prob);
        var fit = AffineLeastSquares.Fit(data.Features, data.Targets, sample.Weights, sample.Rows);
        var metrics = RegressionMetrics.Score(fit, data.Features, data.Targets, sample.Weights, sample.Rows);
        var predicted = fit.Predict(data.Features, sample.Rows);
        double expected = 0, total = 0;
        for (int i = 0; i < sample.Rows.Length; i++)
        {
            int r = sample.Rows[i];
            double e = predicted.Data[i] - data.Targets[r, 0];
            expected += data.PrefixProbabilities[r] * e * e;
            total += data.PrefixProbabilities[r];
        }

        Assert.Equal(3.0, total, 14);
        Assert.Equal(expected / total, metrics.Mse, 14);
    }

    [Fact]
    public void HeldOutSplitIsBySequenceAndSeeded()
    {
        var data = AllBinarySequences(5); // 32 sequences × 5 positions
        var sample = data.Sample(ProbeWeighting.Paper);
        var split = ProbeSplits.BySequence(data, sample, 0.2, seed: 7);
        var fitSeqs = split.FitRows.Select(r => data.SequenceIds[r]).ToHashSet();
        var testSeqs = split.TestRows.Select(r => data.SequenceIds[r]).ToHashSet();

        Assert.Empty(fitSeqs.Intersect(testSeqs));
        Assert.Equal(6, fitSeqs.Count); // round(0.2 × 32)
        Assert.Equal(26, testSeqs.Count);
        Assert.Equal(32 * 5, split.FitRows.Length + split.TestRows.Length);
        Assert.All(fitSeqs, s => Assert.Equal(5, split.FitRows.Count(r => data.SequenceIds[r] == s))); // whole sequences

        var again = ProbeSplits.BySequence(data, sample, 0.2, seed: 7);
        Assert.Equal(split.FitRows, again.FitRows);
        var other = ProbeSplits.BySequence(data, sample, 0.2, seed: 8);
        Assert.NotEqual(split.FitRows, other.FitRows);
    }

    [Fact]
    public void ProbSplitPutsEachSharedPrefixOnTheSideOfTheSequenceOwningItsFirstRow()
    {
        var data = AllBinarySequences(4);
        var sample = data.Sample(ProbeWeighting.Prob);
        var split = ProbeSplits.BySequence(data, sample, 0.5, seed: 3);
        var fitSeqs = split.FitRows.Select(r => data.SequenceIds[r]).ToHashSet();

        var fitPrefixes = split.FitRows.Select(r => data.PrefixIds[r]).ToHashSet();
        var testPrefixes = split.TestRows.Select(r => data.PrefixIds[r]).ToHashSet();
        Assert.Empty(fitPrefixes.Intersect(testPrefixes)); // each prefix scored on one side only
        Assert.Equal(sample.Rows.Length, fitPrefixes.Count + testPrefixes.Count);

        // A prefix shared by sequences on both sides follows the sequence of its first dataset row.
        for (int r = 0; r < data.Rows; r++)
        {
            int owner = Array.FindIndex(data.PrefixIds, id => id == data.PrefixIds[r]);
            Assert.Equal(fitSeqs.Contains(data.SequenceIds[owner]), fitPrefixes.Contains(data.PrefixIds[r]));
        }
    }

    [Fact]
    public void KFoldCoversEverySequenceExactlyOnceAsTest()
    {
        var data = AllBinarySequences(5);
        var sample = data.Sample(ProbeWeighting.Paper);
        var folds = ProbeSplits.KFoldBySequence(data, sample, 4, seed: 1);
        Assert.Equal(4, folds.Count);
        var tested = folds.SelectMany(f => f.TestRows).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, data.Rows), tested);
        foreach (var fold in folds)
        {
            Assert.Empty(fold.FitRows.Select(r => data.SequenceIds[r]).Intersect(fold.TestRows.Select(r => data.SequenceIds[r])));
            Assert.Equal(8, fold.TestRows.Select(r => data.SequenceIds[r]).Distinct().Count());
        }

        var cv = ProbeEvaluator.CrossValidate(data, ProbeWeighting.Paper, 4, seed: 1);
        Assert.Equal(data.Rows, cv.Points);
    }

    [Fact]
    public void PerfectLinearTargetsGiveR2OfOneInSampleAndHeldOut()
    {
        var data = AllBinarySequences(5);
        var linear = new DenseMatrix(Enumerable.Range(0, data.Rows).Select(r => 2 * data.Features[r, 0] - data.Features[r, 1] + 0.5).ToArray(), data.Rows, 1);
        var result = ProbeEvaluator.Evaluate(data.WithTargets(linear), ProbeWeighting.Paper, seed: 2);
        Assert.Equal(1.0, result.InSample.R2, 12);
        Assert.Equal(1.0, result.HeldOut.R2, 12);
        Assert.True(result.InSample.Mse < 1e-24);
        Assert.True(result.Shuffled.Mse > 0.5 * result.Shuffled.TargetVariance);
    }

    [Fact]
    public void ShuffledTargetsCollapseToTheTargetVariance()
    {
        var rng = new Rng(12);
        int n = 20_000, d = 8, k = 3;
        var x = new double[n * d];
        var y = new double[n * k];
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < d; j++)
            {
                x[r * d + j] = rng.NextGaussian();
            }

            for (int t = 0; t < k; t++)
            {
                y[r * k + t] = x[r * d + t] + 0.1 * rng.NextGaussian();
            }
        }

        var features = FeatureMatrix.FromDouble(x, n, d);
        var targets = new DenseMatrix(y, n, k);
        var sample = new ProbeSample(Enumerable.Range(0, n).ToArray(), null);
        var real = RegressionMetrics.Score(AffineLeastSquares.Fit(features, targets), features, targets);
        var shuffled = ProbeControls.ShuffledTargets(features, targets, sample, seed: 5);

        Assert.Equal(0.01, real.Mse, 0.001);
        // With the link broken, the best affine map explains only chance: MSE ≈ variance·(1 − (d+1)/n).
        Assert.Equal(shuffled.TargetVariance, shuffled.Mse, shuffled.TargetVariance * 0.003);
        Assert.True(shuffled.R2 < 0.003);
        Assert.Equal(real.TargetVariance, shuffled.TargetVariance, 12); // a permutation keeps the variance
    }

    [Fact]
    public void MetricsMatchHandComputedValues()
    {
        var truth = new DenseMatrix([0, 0, 1, 1], 2, 2);
        var predicted = new DenseMatrix([3, 4, 1, 1], 2, 2);
        var m = RegressionMetrics.Compute(predicted, truth, [1, 3]);
        Assert.Equal(25.0 / (4 * 2), m.Mse, 15);
        Assert.Equal(Math.Sqrt(25.0 / 8), m.Rmse, 15);
        Assert.Equal(5.0 / 4, m.MeanDistance, 15);
        // ȳ = (0.75, 0.75); SST = 1·(0.5625·2) + 3·(0.0625·2) = 1.5
        Assert.Equal(1 - 25 / 1.5, m.R2, 12);
        Assert.Equal(1.5 / 8, m.TargetVariance, 15);
    }

    [Fact]
    public void PcaFindsTheComponentCountsOfAKnownSpectrum()
    {
        // Independent ±1 columns scaled by √(50, 30, 15, 4, 1): variances 50/30/15/4/1 of 100.
        int n = 32, d = 5;
        double[] scale = [Math.Sqrt(50), Math.Sqrt(30), Math.Sqrt(15), 2, 1];
        var x = new double[n * d];
        for (int r = 0; r < n; r++)
        {
            for (int j = 0; j < d; j++)
            {
                x[r * d + j] = scale[j] * (((r >> j) & 1) == 0 ? 1 : -1);
            }
        }

        var pca = ProbeControls.Pca(FeatureMatrix.FromDouble(x, n, d));
        Assert.Equal(new[] { 0.5, 0.3, 0.15, 0.04, 0.01 }, pca.ExplainedRatio.Select(v => Math.Round(v, 12)));
        Assert.Equal(50.0, pca.Variances[0], 12);
        Assert.Equal(2, pca.For80);
        Assert.Equal(3, pca.For90);
        Assert.Equal(3, pca.For95);
        Assert.Equal(4, pca.For99);
    }

    [Fact]
    public void DistanceAnalysisSeparatesBeliefGeometryFromNextTokenGeometry()
    {
        var rng = new Rng(2);
        int n = 200;
        var beliefs = new double[n * 2];
        var next = new double[n * 2];
        var predicted = new double[n * 2];
        for (int r = 0; r < n; r++)
        {
            beliefs[r * 2] = rng.NextDouble();
            beliefs[r * 2 + 1] = rng.NextDouble();
            predicted[r * 2] = 3 * beliefs[r * 2]; // a scaled copy: distances exactly proportional
            predicted[r * 2 + 1] = 3 * beliefs[r * 2 + 1];
            next[r * 2] = r % 2; // next-token distribution shared by many beliefs
            next[r * 2 + 1] = 1 - r % 2;
        }

        var result = DistanceAnalysis.Compute(new DenseMatrix(predicted, n, 2), new DenseMatrix(beliefs, n, 2), new DenseMatrix(next, n, 2), 50, seed: 3);
        Assert.Equal(50, result.Points);
        Assert.Equal(50 * 49 / 2, result.Pairs);
        Assert.Equal(1.0, result.R2PredictedVsTrueBeliefs, 12);
        Assert.True(result.R2PredictedVsNextToken < 0.2);
        Assert.Null(result.PairDistances);
    }
}
