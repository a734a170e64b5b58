using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Probe quality over a set of points, all weighted by w (1 when unweighted), W = Σw, k target dims:
/// MSE = Σ w‖ŷ−y‖² / (W·k) (mean over points and dims); RMSE = √MSE;
/// R² = 1 − SSE/SST pooled over dims, SST = Σ w‖y−ȳ‖² around the per-dim weighted mean ȳ of the scored points
/// (constant targets: 1 if predicted exactly, else 0; see <see cref="Metrics.RSquared"/>); MeanDistance = Σ w‖ŷ−y‖ / W;
/// TargetVariance = SST/(W·k), the MSE of predicting ȳ, which a shuffled-target probe should approach.
/// The formulas live in <see cref="Metrics"/>; this record only accumulates the sums.
/// </summary>
public sealed record RegressionMetrics(double Mse, double Rmse, double R2, double MeanDistance, double TargetVariance, int Points, double WeightTotal)
{
    /// <summary>Scores <paramref name="predicted"/> against <paramref name="truth"/> row by row; weights align with those rows.</summary>
    public static RegressionMetrics Compute(DenseMatrix predicted, DenseMatrix truth, double[]? weights = null)
    {
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(truth);
        if (predicted.Rows != truth.Rows || predicted.Cols != truth.Cols)
        {
            throw new BeliefLensInputException(
                $"predicted: shape [{predicted.Rows}][{predicted.Cols}] differs from targets [{truth.Rows}][{truth.Cols}]; score predictions for the same rows.");
        }

        if (weights is not null && weights.Length != truth.Rows)
        {
            throw new BeliefLensInputException($"weights: {weights.Length} values for {truth.Rows} scored rows; give one weight per scored row.");
        }

        return Accumulate(truth.Rows, truth.Cols, truth.Data, null, weights, predicted.Data, null);
    }

    /// <summary>
    /// Predicts the selected rows with <paramref name="fit"/> and scores them; weights are indexed by dataset row.
    /// Rows of an indexed feature matrix (<see cref="FeatureMatrix.Indexed"/>) are predicted once per stored row and
    /// scored one by one, with the same sums in the same order as predicting every row: the same result, bit for bit.
    /// </summary>
    public static RegressionMetrics Score(AffineFit fit, FeatureMatrix x, DenseMatrix y, double[]? weights = null, int[]? rows = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ProbeValidation.CheckDesign(x, y, weights, rows);
        if (y.Cols != fit.Targets)
        {
            throw new BeliefLensInputException($"targets: {y.Cols} columns but the probe predicts {fit.Targets}; score the targets it was fitted on.");
        }

        int n = rows?.Length ?? x.Rows;
        return x.RowIndexArray is int[] stored
            ? Accumulate(n, y.Cols, y.Data, rows, weights, fit.Predict(x.Stored).Data, stored)
            : Accumulate(n, y.Cols, y.Data, rows, weights, fit.Predict(x, rows).Data, null);
    }

    /// <summary>
    /// The sums behind every metric, over scored items i = 0..n−1: item i is row r = rows[i] (i when null) of
    /// <paramref name="truth"/> and <paramref name="weights"/>, predicted by row i of <paramref name="predicted"/>, or by
    /// row <paramref name="predictedRowOfRow"/>[r] when given.
    /// </summary>
    private static RegressionMetrics Accumulate(int n, int k, double[] truth, int[]? rows, double[]? weights, double[] predicted, int[]? predictedRowOfRow)
    {
        double weightTotal = 0;
        var mean = new double[k];
        for (int i = 0; i < n; i++)
        {
            int r = rows?[i] ?? i;
            double w = weights?[r] ?? 1.0;
            if (!double.IsFinite(w) || w < 0)
            {
                throw new BeliefLensInputException($"weights[{r}]: must be finite and >= 0.");
            }

            weightTotal += w;
            for (int t = 0; t < k; t++)
            {
                mean[t] += w * truth[r * k + t];
            }
        }

        if (!(weightTotal > 0))
        {
            throw new BeliefLensInputException("weights: scored rows have zero total weight; nothing to score.");
        }

        for (int t = 0; t < k; t++)
        {
            mean[t] /= weightTotal;
        }

        double sse = 0, sst = 0, raw = 0, distance = 0;
        for (int i = 0; i < n; i++)
        {
            int r = rows?[i] ?? i;
            int p = predictedRowOfRow?[r] ?? i;
            double w = weights?[r] ?? 1.0;
            double rowError = 0;
            for (int t = 0; t < k; t++)
            {
                double y = truth[r * k + t];
                double e = predicted[p * k + t] - y;
                double c = y - mean[t];
                rowError += e * e;
                sst += w * c * c;
                raw += w * y * y;
            }

            sse += w * rowError;
            distance += w * Math.Sqrt(rowError);
        }

        double mse = Metrics.Mse(sse, weightTotal, k);
        return new RegressionMetrics(mse, Metrics.Rmse(mse), Metrics.RSquared(sse, sst, raw), distance / weightTotal, Metrics.Mse(sst, weightTotal, k), n, weightTotal);
    }
}
