using System.Diagnostics;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>Timing of probe primitives, for `belieflens bench probe` (benchmarks, never tests).</summary>
public static class ProbeBenchmarks
{
    /// <summary>
    /// One affine fit (Gram pass + eigen pseudo-inverse) on synthetic float32 activations of the size
    /// (590,490 × 64 → 3 targets). Data generation is not timed; returns the best of <paramref name="repeats"/> fits
    /// after one warm-up fit, plus the in-sample MSE as a sanity value.
    /// </summary>
    public static (TimeSpan Best, TimeSpan Median, double Mse) AffineFit(int rows = 590_490, int features = 64, int targets = 3, int repeats = 5, ulong seed = 1)
    {
        var rng = new Rng(seed);
        var x = new float[(long)rows * features];
        for (long i = 0; i < x.Length; i++)
        {
            x[i] = (float)rng.NextGaussian();
        }

        var y = new double[rows * targets];
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < targets; t++)
            {
                y[r * targets + t] = 0.1 * x[(long)r * features + t] + 0.01 * rng.NextGaussian();
            }
        }

        var features_ = FeatureMatrix.FromSingle(x, rows, features);
        var targets_ = new DenseMatrix(y, rows, targets);
        AffineLeastSquares.Fit(features_, targets_); // warm-up (JIT)
        var times = new List<TimeSpan>();
        AffineFit? fit = null;
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            fit = AffineLeastSquares.Fit(features_, targets_);
            times.Add(watch.Elapsed);
        }

        times.Sort();
        double mse = RegressionMetrics.Score(fit!, features_, targets_).Mse;
        return (times[0], times[times.Count / 2], mse);
    }
}
