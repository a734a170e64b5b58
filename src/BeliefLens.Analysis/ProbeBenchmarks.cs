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

    /// <summary>
    /// The quantum paper's probe fit on the Mess3 anchor set at n_ctx 8 (9,840 anchors) with <paramref name="features"/>
    /// synthetic float32 features (tanh of random projections of the beliefs plus noise, like concatenated activations):
    /// the full 53-cutoff grid × <paramref name="folds"/> folds and the refit. Best and median of <paramref name="repeats"/>
    /// timed fits after one warm-up; data generation is not timed.
    /// </summary>
    public static (TimeSpan Best, TimeSpan Median, CutoffFit Fit) QuantumProbe(int features = 256, int folds = 10, int repeats = 5, int maxDegreeOfParallelism = 0, ulong seed = 1)
    {
        var anchors = AnchorSet.Create(BuiltinProcesses.Mess3(), 8);
        var rng = new Rng(seed);
        int s = anchors.Beliefs.Cols;
        var projection = Enumerable.Range(0, features * (s + 1)).Select(_ => rng.NextGaussian()).ToArray();
        var x = new float[anchors.Count * features];
        for (int a = 0; a < anchors.Count; a++)
        {
            for (int j = 0; j < features; j++)
            {
                double z = projection[j * (s + 1) + s];
                for (int i = 0; i < s; i++)
                {
                    z += 3 * projection[j * (s + 1) + i] * anchors.Beliefs[a, i];
                }

                x[a * features + j] = (float)(Math.Tanh(z) + 0.01 * rng.NextGaussian());
            }
        }

        var matrix = FeatureMatrix.FromSingle(x, anchors.Count, features);
        var options = new CutoffRegressionOptions(folds: folds, maxDegreeOfParallelism: maxDegreeOfParallelism);
        var fit = CutoffRegression.Fit(matrix, anchors.Beliefs, anchors.Weights, options); // warm-up (JIT)
        var times = new List<TimeSpan>();
        for (int i = 0; i < repeats; i++)
        {
            var watch = Stopwatch.StartNew();
            fit = CutoffRegression.Fit(matrix, anchors.Beliefs, anchors.Weights, options);
            times.Add(watch.Elapsed);
        }

        times.Sort();
        return (times[0], times[times.Count / 2], fit);
    }
}
