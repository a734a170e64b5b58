using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

public sealed class DistanceAnalysisTests
{
    private static (DenseMatrix Predicted, DenseMatrix Beliefs, DenseMatrix Next) Noisy(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var beliefs = new double[n * 3];
        var predicted = new double[n * 3];
        var next = new double[n * 2];
        for (int r = 0; r < n; r++)
        {
            for (int s = 0; s < 3; s++)
            {
                beliefs[(r * 3) + s] = rng.NextDouble();
                predicted[(r * 3) + s] = beliefs[(r * 3) + s] + (0.1 * rng.NextGaussian());
            }

            next[r * 2] = beliefs[r * 3];
            next[(r * 2) + 1] = 1 - beliefs[r * 3];
        }

        return (new DenseMatrix(predicted, n, 3), new DenseMatrix(beliefs, n, 3), new DenseMatrix(next, n, 2));
    }

    [Fact]
    public void KeptPairsAreThePairsOfTheSampledPointsAndGiveTheRecordedRSquared()
    {
        var (predicted, beliefs, next) = Noisy(120, 8);
        var analysis = DistanceAnalysis.Compute(predicted, beliefs, next, 40, seed: 5, keepPairs: true);
        var pairs = analysis.PairDistances!;
        Assert.Equal(40, analysis.PointRows.Distinct().Count());
        Assert.Equal(40 * 39 / 2, pairs.Predicted.Length);

        // Pair (a, b) = (0, 1) first, then (0, 2): plain Euclidean distances between the sampled rows.
        int a = analysis.PointRows[0], b = analysis.PointRows[2];
        double expected = Math.Sqrt(Enumerable.Range(0, 3).Sum(s => Math.Pow(beliefs[a, s] - beliefs[b, s], 2)));
        Assert.Equal(expected, pairs.TrueBeliefs[1], 14);

        // The R² values are those of exactly these pairs (what the figure prints is what it draws).
        Assert.Equal(Metrics.LinearRSquared(pairs.TrueBeliefs, pairs.Predicted), analysis.R2PredictedVsTrueBeliefs);
        Assert.Equal(Metrics.LinearRSquared(pairs.NextToken, pairs.Predicted), analysis.R2PredictedVsNextToken);
        Assert.Equal(Metrics.LinearRSquared(pairs.NextToken, pairs.TrueBeliefs), analysis.R2TrueBeliefsVsNextToken);
        Assert.InRange(analysis.R2PredictedVsTrueBeliefs, 0.5, 0.99);
    }

    [Fact]
    public void TheSameInputsAndSeedGiveTheSameAnalysisWithOrWithoutPairs()
    {
        var (predicted, beliefs, next) = Noisy(90, 2);
        var lean = DistanceAnalysis.Compute(predicted, beliefs, next, 30, seed: 11);
        var full = DistanceAnalysis.Compute(predicted, beliefs, next, 30, seed: 11, keepPairs: true);
        Assert.Equal(lean.PointRows, full.PointRows);
        Assert.Equal((lean.R2PredictedVsTrueBeliefs, lean.R2PredictedVsNextToken), (full.R2PredictedVsTrueBeliefs, full.R2PredictedVsNextToken));
        Assert.NotEqual(lean.PointRows, DistanceAnalysis.Compute(predicted, beliefs, next, 30, seed: 12).PointRows);
    }

    [Fact]
    public void MisalignedMatricesAreAnInputError()
    {
        var (predicted, beliefs, next) = Noisy(10, 1);
        var error = Assert.Throws<BeliefLensInputException>(() => DistanceAnalysis.Compute(predicted, beliefs, next.SelectRows([0, 1, 2]), 5, 0));
        Assert.StartsWith("distance analysis:", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("distance_points:", Assert.Throws<BeliefLensInputException>(() => DistanceAnalysis.Compute(predicted, beliefs, next, 1, 0)).Message, StringComparison.Ordinal);
    }
}
