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

        int n = truth.Rows;
        int k = truth.Cols;
        double weightTotal = 0;
        var mean = new double[k];
        for (int r = 0; r < n; r++)
        {
            double w = weights?[r] ?? 1.0;
            if (!double.IsFinite(w) || w < 0)
            {
                throw new BeliefLensInputException($"weights[{r}]: must be finite and >= 0.");
            }

            weightTotal += w;
            for (int t = 0; t < k; t++)
            {
                mean[t] += w * truth.Data[r * k + t];
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
        for (int r = 0; r < n; r++)
        {
            double w = weights?[r] ?? 1.0;
            double rowError = 0;
            for (int t = 0; t < k; t++)
            {
                double y = truth.Data[r * k + t];
                double e = predicted.Data[r * k + t] - y;
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

    /// <summary>Predicts the selected rows with <paramref name="fit"/> and scores them; weights are indexed by dataset row.</summary>
    public static RegressionMetrics Score(AffineFit fit, FeatureMatrix x, DenseMatrix y, double[]? weights = null, int[]? rows = null)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ProbeValidation.CheckDesign(x, y, weights, rows);
        var truth = rows is null ? y : y.SelectRows(rows);
        double[]? scoredWeights = weights is null ? null : rows is null ? weights : rows.Select(r => weights[r]).ToArray();
        return Compute(fit.Predict(x, rows), truth, scoredWeights);
    }
}
