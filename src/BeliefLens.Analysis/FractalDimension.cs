using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// A probability-weighted point cloud: <see cref="Points"/> flat [N][Dims], <see cref="Weights"/> normalised to sum 1.
/// Points with zero weight are dropped.
/// </summary>
public sealed class WeightedCloud
{
    public WeightedCloud(double[] points, double[] weights, int dims)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(weights);
        if (dims < 1 || points.Length != weights.Length * dims)
        {
            throw new BeliefLensInputException($"points: {points.Length} values do not make {weights.Length} points of {dims} coordinates.");
        }

        double total = 0;
        int kept = 0;
        foreach (double w in weights)
        {
            if (!(w >= 0) || !double.IsFinite(w))
            {
                throw new BeliefLensInputException($"weights: {w} is not a non-negative finite weight.");
            }

            total += w;
            kept += w > 0 ? 1 : 0;
        }

        if (!(total > 0))
        {
            throw new BeliefLensInputException("weights: they sum to 0; the cloud has no mass to measure.");
        }

        Points = new double[kept * dims];
        Weights = new double[kept];
        int k = 0;
        for (int i = 0; i < weights.Length; i++)
        {
            if (weights[i] > 0)
            {
                points.AsSpan(i * dims, dims).CopyTo(Points.AsSpan(k * dims, dims));
                Weights[k++] = weights[i] / total;
            }
        }

        Dims = dims;
    }

    public double[] Points { get; }

    public double[] Weights { get; }

    public int Dims { get; }

    public int Count => Weights.Length;

    public ReadOnlySpan<double> Point(int i) => Points.AsSpan(i * Dims, Dims);

    /// <summary>
    /// The cloud's diameter, max ‖x_i − x_j‖, approximated from the 2·Dims coordinate-extreme points: the largest distance
    /// from one of them to any point. Exact when the farthest pair includes an extreme point (a simplex or a disc), and
    /// never more than the true diameter.
    /// </summary>
    public double Diameter()
    {
        double best = 0;
        for (int c = 0; c < Dims; c++)
        {
            int lowest = 0, highest = 0;
            for (int i = 1; i < Count; i++)
            {
                double value = Points[(i * Dims) + c];
                lowest = value < Points[(lowest * Dims) + c] ? i : lowest;
                highest = value > Points[(highest * Dims) + c] ? i : highest;
            }

            foreach (int extreme in new[] { lowest, highest })
            {
                var anchor = Point(extreme);
                for (int i = 0; i < Count; i++)
                {
                    best = Math.Max(best, Distance(anchor, Point(i)));
                }
            }
        }

        return best;
    }

    public static double Distance(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = a[i] - b[i];
            sum += d * d;
        }

        return Math.Sqrt(sum);
    }
}

/// <summary>The scale range [Lower, Upper] a dimension is fitted in, and why its ends are where they are.</summary>
public sealed record ScaleWindow(double Lower, double Upper, string LowerFrom, string UpperFrom)
{
    public bool IsEmpty => !(Upper > Lower * 1.0001);

    /// <summary><paramref name="count"/> scales spaced evenly in log between the ends (both included).</summary>
    public double[] Scales(int count)
    {
        if (IsEmpty || count < 2)
        {
            return [];
        }

        var scales = new double[count];
        double a = Math.Log(Lower), b = Math.Log(Upper);
        for (int k = 0; k < count; k++)
        {
            scales[k] = Math.Exp(a + ((b - a) * k / (count - 1)));
        }

        return scales;
    }
}

/// <summary>
/// One fitted dimension: the curve (<see cref="Values"/> at <see cref="Scales"/>) and the least-squares line through
/// (ln scale, value) within the window. For the information dimension the values are I(ε) = −Σ p_box ln p_box and the
/// dimension is −slope; for the correlation dimension they are ln C(r) and the dimension is the slope.
/// </summary>
public sealed record DimensionFit(
    string Method,
    ScaleWindow Window,
    double[] Scales,
    double[] Values,
    double? Dimension,
    double? Intercept,
    double? FitR2,
    string? Warning = null);

/// <summary>
/// Fractal dimensions of weighted point clouds, fitted inside a scale window: the probability-weighted box-counting
/// information dimension D1 and the correlation dimension D2. Box counts use a grid of side ε anchored at the cloud's
/// minimum corner; cells are hashed to 128 bits, so any number of coordinates works.
/// </summary>
public static class FractalDimension
{
    public const int DefaultScaleCount = 16;
    public const int DefaultCorrelationSample = 3000;

    /// <summary>I(ε) = −Σ_box p ln p for each ε: the information in the cloud at resolution ε.</summary>
    public static double[] InformationCurve(WeightedCloud cloud, IReadOnlyList<double> scales)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(scales);
        int dims = cloud.Dims;
        var origin = new double[dims];
        for (int c = 0; c < dims; c++)
        {
            origin[c] = double.PositiveInfinity;
            for (int i = 0; i < cloud.Count; i++)
            {
                origin[c] = Math.Min(origin[c], cloud.Points[(i * dims) + c]);
            }
        }

        var information = new double[scales.Count];
        var boxes = new Dictionary<UInt128, double>(cloud.Count);
        for (int k = 0; k < scales.Count; k++)
        {
            double inverse = 1 / scales[k];
            boxes.Clear();
            for (int i = 0; i < cloud.Count; i++)
            {
                ulong a = 0x9E37_79B9_7F4A_7C15UL, b = 0xC2B2_AE3D_27D4_EB4FUL;
                for (int c = 0; c < dims; c++)
                {
                    ulong cell = (ulong)(long)Math.Floor((cloud.Points[(i * dims) + c] - origin[c]) * inverse);
                    a = Mix(a ^ cell);
                    b = Mix(b + (cell * 0x1656_67B1_9E37_79F9UL));
                }

                var key = new UInt128(a, b);
                boxes[key] = boxes.GetValueOrDefault(key) + cloud.Weights[i];
            }

            information[k] = BeliefMath.Entropy([.. boxes.Values]);
        }

        return information;
    }

    /// <summary>
    /// ln C(r), with C(r) the probability that two points drawn independently from the cloud's measure lie within r
    /// (Euclidean): estimated from <paramref name="sample"/> points drawn by weight (seeded), over all distinct pairs.
    /// </summary>
    public static double[] CorrelationCurve(WeightedCloud cloud, IReadOnlyList<double> scales, int sample = DefaultCorrelationSample, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        ArgumentNullException.ThrowIfNull(scales);
        if (sample < 2)
        {
            throw new BeliefLensInputException($"sample: {sample} must be at least 2 points.");
        }

        var cumulative = new double[cloud.Count];
        double running = 0;
        for (int i = 0; i < cloud.Count; i++)
        {
            running += cloud.Weights[i];
            cumulative[i] = running;
        }

        var rng = new Rng(seed);
        var drawn = new int[sample];
        for (int k = 0; k < sample; k++)
        {
            int index = Array.BinarySearch(cumulative, rng.NextDouble() * running);
            drawn[k] = Math.Min(index < 0 ? ~index : index, cloud.Count - 1);
        }

        long pairs = (long)sample * (sample - 1) / 2;
        var distances = new double[pairs];
        long n = 0;
        for (int i = 0; i < sample; i++)
        {
            var a = cloud.Point(drawn[i]);
            for (int j = i + 1; j < sample; j++)
            {
                distances[n++] = WeightedCloud.Distance(a, cloud.Point(drawn[j]));
            }
        }

        Array.Sort(distances);
        var values = new double[scales.Count];
        for (int k = 0; k < scales.Count; k++)
        {
            long below = UpperBound(distances, scales[k]);
            values[k] = below > 0 ? Math.Log((double)below / pairs) : double.NegativeInfinity;
        }

        return values;
    }

    /// <summary>The information dimension D1 in <paramref name="window"/>: −slope of I(ε) against ln ε.</summary>
    public static DimensionFit Information(WeightedCloud cloud, ScaleWindow window, int scaleCount = DefaultScaleCount)
    {
        ArgumentNullException.ThrowIfNull(window);
        var scales = window.Scales(scaleCount);
        return Fit("box_counting_information", window, scales, InformationCurve(cloud, scales), sign: -1);
    }

    /// <summary>The correlation dimension D2 in <paramref name="window"/>: slope of ln C(r) against ln r.</summary>
    public static DimensionFit Correlation(WeightedCloud cloud, ScaleWindow window, int scaleCount = DefaultScaleCount, int sample = DefaultCorrelationSample, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(window);
        var scales = window.Scales(scaleCount);
        return Fit("correlation", window, scales, CorrelationCurve(cloud, scales, sample, seed), sign: 1);
    }

    /// <summary>The least-squares line through (ln scale, value); the dimension is sign·slope, R² that of the line.</summary>
    public static DimensionFit Fit(string method, ScaleWindow window, double[] scales, double[] values, int sign)
    {
        ArgumentNullException.ThrowIfNull(window);
        ArgumentNullException.ThrowIfNull(scales);
        ArgumentNullException.ThrowIfNull(values);
        if (window.IsEmpty)
        {
            return new DimensionFit(method, window, scales, values, null, null, null,
                $"the window is empty ({window.LowerFrom} ≥ {window.UpperFrom}); the cloud is too coarse to measure a dimension at these scales");
        }

        var x = new List<double>();
        var y = new List<double>();
        for (int k = 0; k < scales.Length; k++)
        {
            if (double.IsFinite(values[k]))
            {
                x.Add(Math.Log(scales[k]));
                y.Add(values[k]);
            }
        }

        if (x.Count < 3)
        {
            return new DimensionFit(method, window, scales, values, null, null, null, "fewer than 3 scales hold any pairs; raise the sample or widen the window");
        }

        double meanX = x.Average(), meanY = y.Average();
        double sxy = 0, sxx = 0;
        for (int k = 0; k < x.Count; k++)
        {
            sxy += (x[k] - meanX) * (y[k] - meanY);
            sxx += (x[k] - meanX) * (x[k] - meanX);
        }

        double slope = sxy / sxx;
        double r2 = Metrics.LinearRSquared(x.ToArray(), y.ToArray());
        return new DimensionFit(method, window, scales, values, sign * slope, meanY - (slope * meanX), r2);
    }

    /// <summary>
    /// The belief distribution after exactly <paramref name="depth"/> tokens from the initial belief: the MSP's states
    /// reached at that depth with their probabilities (states reached by several prefixes hold the sum).
    /// </summary>
    public static WeightedCloud BeliefsAtDepth(MixedStatePresentation msp, int depth)
    {
        ArgumentNullException.ThrowIfNull(msp);
        if (depth < 0 || depth > msp.Depth)
        {
            throw new BeliefLensInputException($"depth: {depth} must be in 0..{msp.Depth} (the MSP's search depth).");
        }

        int n = msp.StateCount, v = msp.Process.VocabSize;
        var mass = new double[n];
        var following = new double[n];
        mass[0] = 1;
        for (int d = 0; d < depth; d++)
        {
            Array.Clear(following);
            for (int state = 0; state < n; state++)
            {
                if (mass[state] == 0)
                {
                    continue;
                }

                for (int x = 0; x < v; x++)
                {
                    int target = msp.Next[(state * v) + x];
                    if (target >= 0)
                    {
                        following[target] += mass[state] * msp.NextProbability[(state * v) + x];
                    }
                }
            }

            (mass, following) = (following, mass);
        }

        return new WeightedCloud(msp.Beliefs, mass, msp.Process.StateCount);
    }

    private static long UpperBound(double[] sorted, double value)
    {
        long lo = 0, hi = sorted.LongLength;
        while (lo < hi)
        {
            long mid = lo + ((hi - lo) / 2);
            if (sorted[mid] < value)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        return lo;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
