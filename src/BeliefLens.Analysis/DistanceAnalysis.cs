using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>The Euclidean distances of every sampled pair (a, b), a &lt; b over the sampled points, in one order.</summary>
/// <param name="Predicted">‖ŷ_a − ŷ_b‖ between the probe's predicted beliefs.</param>
/// <param name="TrueBeliefs">‖y_a − y_b‖ between the true beliefs.</param>
/// <param name="NextToken">‖p_a − p_b‖ between the true next-token distributions.</param>
public sealed record DistancePairs(double[] Predicted, double[] TrueBeliefs, double[] NextToken);

/// <summary>
/// Distance analysis (the paper's RRXOR check) on a seeded subsample of m points: for every unordered pair of sampled
/// points, the distances of <see cref="DistancePairs"/>. Each R² is <see cref="Metrics.LinearRSquared"/> of a
/// least-squares line (unweighted over pairs) drawn as the figure draws it, x the reference distance and y the
/// explained one: predicted against true beliefs, predicted against next-token, true beliefs against next-token.
/// Computed once here; the report's figure draws <see cref="PairDistances"/> and prints these same R² values.
/// </summary>
public sealed record DistanceAnalysis(int Points, int Pairs, double R2PredictedVsTrueBeliefs, double R2PredictedVsNextToken, double R2TrueBeliefsVsNextToken)
{
    /// <summary>The sampled rows, in sampling order (indices into the matrices given to <see cref="Compute"/>).</summary>
    public required int[] PointRows { get; init; }

    /// <summary>Every pair's distances, kept only when asked for (1,500 points make 1.1M pairs).</summary>
    public DistancePairs? PairDistances { get; init; }

    /// <summary>
    /// Samples min(<paramref name="maxPoints"/>, rows) rows uniformly without replacement (seeded) and analyses all
    /// their pairs. <paramref name="predicted"/>, <paramref name="beliefs"/> and <paramref name="nextToken"/> are
    /// aligned row by row. With <paramref name="keepPairs"/>, the pair distances are returned for drawing.
    /// </summary>
    public static DistanceAnalysis Compute(DenseMatrix predicted, DenseMatrix beliefs, DenseMatrix nextToken, int maxPoints, ulong seed, bool keepPairs = false)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(beliefs);
        ArgumentNullException.ThrowIfNull(nextToken);
        if (predicted.Rows != beliefs.Rows || nextToken.Rows != beliefs.Rows || predicted.Cols != beliefs.Cols)
        {
            throw new BeliefLensInputException(
                $"distance analysis: predicted [{predicted.Rows}][{predicted.Cols}], beliefs [{beliefs.Rows}][{beliefs.Cols}] and next-token [{nextToken.Rows}][{nextToken.Cols}] need the same rows (and predicted/beliefs the same dims).");
        }

        if (maxPoints < 2)
        {
            throw new BeliefLensInputException("distance_points: need at least 2 points to form a pair.");
        }

        int m = Math.Min(maxPoints, beliefs.Rows);
        if (m < 2)
        {
            throw new BeliefLensInputException("distance analysis: need at least 2 rows.");
        }

        int[] chosen = ProbeSplits.Permutation(beliefs.Rows, seed)[..m];
        long pairs = (long)m * (m - 1) / 2;
        var dPred = new double[pairs];
        var dTrue = new double[pairs];
        var dNext = new double[pairs];
        long p = 0;
        for (int a = 0; a < m; a++)
        {
            for (int b = a + 1; b < m; b++, p++)
            {
                dPred[p] = TensorPrimitives.Distance(predicted.Row(chosen[a]), predicted.Row(chosen[b]));
                dTrue[p] = TensorPrimitives.Distance(beliefs.Row(chosen[a]), beliefs.Row(chosen[b]));
                dNext[p] = TensorPrimitives.Distance(nextToken.Row(chosen[a]), nextToken.Row(chosen[b]));
            }
        }

        return new DistanceAnalysis(m, (int)pairs, Metrics.LinearRSquared(dTrue, dPred), Metrics.LinearRSquared(dNext, dPred), Metrics.LinearRSquared(dNext, dTrue))
        {
            PointRows = chosen,
            PairDistances = keepPairs ? new DistancePairs(dPred, dTrue, dNext) : null,
        };
    }
}
