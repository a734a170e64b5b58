using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// The one definition of every error and fit statistic BeliefLens reports; all other code calls these.
/// <para>Convention for constant targets: R² is never NaN or ±∞. When the targets are constant (their spread around the
/// mean is at most <see cref="RoundingFraction"/> of their size, i.e. float64 rounding of the mean), R² is 1 if the
/// predictions match them to the same precision and 0 otherwise, as scikit-learn's <c>r2_score</c> does by default.</para>
/// </summary>
public static class Metrics
{
    /// <summary>
    /// A sum of squares at most this fraction of the targets' raw sum of squares Σw‖y‖² counts as zero: a spread of
    /// 1e-10 of the targets' magnitude is what float64 rounding of a weighted mean over a million rows can leave.
    /// </summary>
    public const double RoundingFraction = 1e-20;

    /// <summary>Mean squared error over points and dimensions: SSE / (W·k), W the total weight, k the dimensions.</summary>
    public static double Mse(double sumSquaredErrors, double weightTotal, int dims) => sumSquaredErrors / (weightTotal * dims);

    /// <summary>Root mean squared error: √MSE.</summary>
    public static double Rmse(double mse) => Math.Sqrt(mse);

    /// <summary>
    /// Root mean squared distance √(Σw‖y − ŷ‖² / W): the error per point rather than per coordinate (the quantum
    /// paper's probe RMSE, whose anchor weights sum to W = 1). <paramref name="sumSquaredDistances"/> is Σw‖y − ŷ‖².
    /// </summary>
    public static double RootMeanSquaredDistance(double sumSquaredDistances, double weightTotal) => Math.Sqrt(sumSquaredDistances / weightTotal);

    /// <summary>
    /// Coefficient of determination R² = 1 − SSE/SST, with SST = Σw‖y−ȳ‖² the targets' spread around their (weighted)
    /// mean and <paramref name="targetSumOfSquares"/> = Σw‖y‖² their raw size. For constant targets
    /// (SST ≤ <see cref="RoundingFraction"/>·Σw‖y‖²) the result is 1 when SSE is that small too (the predictions are
    /// the targets) and 0 otherwise (they are not, and there is no variance to explain): never NaN.
    /// </summary>
    public static double RSquared(double sumSquaredErrors, double totalSumOfSquares, double targetSumOfSquares)
    {
        double negligible = RoundingFraction * targetSumOfSquares;
        if (totalSumOfSquares <= negligible)
        {
            return sumSquaredErrors <= negligible ? 1.0 : 0.0;
        }

        return 1 - (sumSquaredErrors / totalSumOfSquares);
    }

    /// <summary>
    /// R² of the ordinary least-squares line y ≈ a + b·x (unweighted, with intercept): the squared Pearson correlation
    /// of x and y when both vary, so then symmetric in x and y. With the convention of <see cref="RSquared"/>: when y
    /// is constant the line fits it exactly (1); when only x is constant the best line is flat and explains nothing (0).
    /// </summary>
    public static double LinearRSquared(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        if (x.Length != y.Length || x.Length < 2)
        {
            throw new BeliefLensInputException($"x, y: need equal lengths of at least 2 (got {x.Length} and {y.Length}).");
        }

        int n = x.Length;
        double meanX = 0, meanY = 0;
        for (int i = 0; i < n; i++)
        {
            meanX += x[i];
            meanY += y[i];
        }

        meanX /= n;
        meanY /= n;
        double sxy = 0, sxx = 0, syy = 0, rawX = 0, rawY = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - meanX, dy = y[i] - meanY;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
            rawX += x[i] * x[i];
            rawY += y[i] * y[i];
        }

        if (sxx <= RoundingFraction * rawX)
        {
            return RSquared(syy, syy, rawY); // flat line at ȳ: SSE = SST
        }

        // SSE of the line = syy − sxy²/sxx; clamped at 0 against rounding.
        double sse = Math.Max(syy - (sxy * sxy / sxx), 0);
        return syy <= RoundingFraction * rawY ? RSquared(sse, syy, rawY) : Math.Clamp(sxy * sxy / (sxx * syy), 0, 1);
    }

    /// <summary>
    /// KL(p ‖ q) = Σ p (ln p − ln q) in nats, over the entries where p &gt; 0, with q given as log-probabilities (a model's
    /// log-softmax, so tiny q need no exp): the extra loss of predicting with q when the data follow p.
    /// </summary>
    public static double KlDivergence(ReadOnlySpan<double> p, ReadOnlySpan<double> logQ)
    {
        if (p.Length != logQ.Length)
        {
            throw new BeliefLensInputException($"p, q: need equal lengths (got {p.Length} and {logQ.Length}).");
        }

        double kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            if (p[i] > 0)
            {
                kl += p[i] * (Math.Log(p[i]) - logQ[i]);
            }
        }

        return Math.Max(kl, 0); // rounding can leave −1e-17 for q = p
    }
}
