using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// The belief subspace of an affine probe η̂(a) = aW + b (W: d × S): the row space of its linear map, i.e. the span of
/// W's columns in activation space. Every edit that changes the probe's reading lies in it; every edit orthogonal to
/// it leaves the reading alone. Built from WᵀW = VΛVᵀ (S × S): with u_k = W v_k / √λ_k (orthonormal in R^d) the
/// pseudo-inverse is W⁺ = Σ_k v_k u_kᵀ / √λ_k, over λ_k above <see cref="RelativeCutoff"/> of the largest.
/// </summary>
public sealed class BeliefSubspace
{
    /// <summary>Squared singular values below this fraction of the largest count as zero (a map of rank &lt; S, e.g. beliefs that sum to 1).</summary>
    public const double RelativeCutoff = 1e-12;

    private readonly double[] _coefficients; // [d][S]
    private readonly double[] _intercept;
    private readonly double[][] _basis; // u_k, each length d
    private readonly double[][] _directions; // v_k, each length S
    private readonly double[] _inverseSingular; // 1/√λ_k

    public BeliefSubspace(double[] coefficients, double[] intercept, int features)
    {
        ArgumentNullException.ThrowIfNull(coefficients);
        ArgumentNullException.ThrowIfNull(intercept);
        int s = intercept.Length;
        if (features < 1 || s < 1 || coefficients.Length != features * s)
        {
            throw new BeliefLensInputException($"probe: {coefficients.Length} coefficients do not make a {features} × {s} map.");
        }

        (_coefficients, _intercept, Features, Targets) = (coefficients, intercept, features, s);
        var gram = new double[s * s];
        for (int i = 0; i < features; i++)
        {
            for (int a = 0; a < s; a++)
            {
                for (int b = 0; b < s; b++)
                {
                    gram[(a * s) + b] += coefficients[(i * s) + a] * coefficients[(i * s) + b];
                }
            }
        }

        var eigen = SymmetricEigen.Decompose(gram, s);
        double largest = eigen.Values[0];
        var basis = new List<double[]>();
        var directions = new List<double[]>();
        var inverse = new List<double>();
        for (int k = 0; k < s; k++)
        {
            double lambda = eigen.Values[k];
            if (!(largest > 0) || lambda <= RelativeCutoff * largest)
            {
                break;
            }

            var v = eigen.EigenVector(k).ToArray();
            var u = new double[features];
            double scale = 1 / Math.Sqrt(lambda);
            for (int i = 0; i < features; i++)
            {
                double sum = 0;
                for (int t = 0; t < s; t++)
                {
                    sum += coefficients[(i * s) + t] * v[t];
                }

                u[i] = sum * scale;
            }

            basis.Add(u);
            directions.Add(v);
            inverse.Add(scale);
        }

        (_basis, _directions, _inverseSingular) = ([.. basis], [.. directions], [.. inverse]);
    }

    /// <summary>From a fitted probe.</summary>
    public static BeliefSubspace FromFit(AffineFit fit)
    {
        ArgumentNullException.ThrowIfNull(fit);
        return new BeliefSubspace(fit.Coefficients, fit.Intercept, fit.Features);
    }

    public int Features { get; }

    public int Targets { get; }

    /// <summary>The dimension of the subspace (the probe map's rank).</summary>
    public int Rank => _basis.Length;

    /// <summary>The probe's reading aW + b.</summary>
    public double[] Read(ReadOnlySpan<double> activation)
    {
        var reading = ReadChange(activation);
        for (int t = 0; t < Targets; t++)
        {
            reading[t] += _intercept[t];
        }

        return reading;
    }

    /// <summary>How much an edit δ moves the reading: δW (the linear part alone).</summary>
    public double[] ReadChange(ReadOnlySpan<double> edit)
    {
        Check(edit);
        var change = new double[Targets];
        for (int i = 0; i < Features; i++)
        {
            double a = edit[i];
            for (int t = 0; t < Targets; t++)
            {
                change[t] += a * _coefficients[(i * Targets) + t];
            }
        }

        return change;
    }

    /// <summary>The pseudo-inverse of a symmetric positive semi-definite n × n matrix, eigenvalues at or below <see cref="RelativeCutoff"/> of the largest dropped.</summary>
    public static double[] PseudoInverseSymmetric(double[] matrix, int n)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        var eigen = SymmetricEigen.Decompose(matrix, n);
        double largest = eigen.Values[0];
        var inverse = new double[n * n];
        for (int k = 0; k < n && largest > 0 && eigen.Values[k] > RelativeCutoff * largest; k++)
        {
            var v = eigen.EigenVector(k);
            double scale = 1 / eigen.Values[k];
            for (int a = 0; a < n; a++)
            {
                for (int b = 0; b < n; b++)
                {
                    inverse[(a * n) + b] += scale * v[a] * v[b];
                }
            }
        }

        return inverse;
    }

    /// <summary>
    /// The smallest edit δ (in the subspace) that moves the probe's reading of <paramref name="activation"/> to
    /// <paramref name="target"/>: δ = (target − η̂(a)) W⁺. Exact when target − η̂(a) lies in the map's range (for beliefs
    /// of an HMM: both sum to 1 and the probe's columns sum to a constant map).
    /// </summary>
    public double[] EditTowards(ReadOnlySpan<double> activation, ReadOnlySpan<double> target)
    {
        var reading = Read(activation);
        var change = new double[Targets];
        for (int t = 0; t < Targets; t++)
        {
            change[t] = target[t] - reading[t];
        }

        return EditFor(change);
    }

    /// <summary>δ = change · W⁺: the subspace edit that shifts the reading by <paramref name="change"/> (its part in the map's range).</summary>
    public double[] EditFor(ReadOnlySpan<double> change)
    {
        if (change.Length != Targets)
        {
            throw new BeliefLensInputException($"change: has {change.Length} entries but the probe reads {Targets}.");
        }

        var edit = new double[Features];
        for (int k = 0; k < Rank; k++)
        {
            double c = 0;
            for (int t = 0; t < Targets; t++)
            {
                c += change[t] * _directions[k][t];
            }

            c *= _inverseSingular[k];
            for (int i = 0; i < Features; i++)
            {
                edit[i] += c * _basis[k][i];
            }
        }

        return edit;
    }

    /// <summary>The component of <paramref name="vector"/> in the subspace.</summary>
    public double[] Project(ReadOnlySpan<double> vector)
    {
        Check(vector);
        var projection = new double[Features];
        foreach (var u in _basis)
        {
            double c = Dot(vector, u);
            for (int i = 0; i < Features; i++)
            {
                projection[i] += c * u[i];
            }
        }

        return projection;
    }

    /// <summary>A seeded Gaussian direction of norm <paramref name="norm"/>, orthogonal to the subspace when asked.</summary>
    public double[] RandomDirection(Rng rng, double norm, bool orthogonal)
    {
        ArgumentNullException.ThrowIfNull(rng);
        var g = new double[Features];
        for (int i = 0; i < Features; i++)
        {
            g[i] = rng.NextGaussian();
        }

        if (orthogonal)
        {
            var inside = Project(g);
            for (int i = 0; i < Features; i++)
            {
                g[i] -= inside[i];
            }
        }

        double length = Math.Sqrt(Dot(g, g));
        for (int i = 0; i < Features; i++)
        {
            g[i] *= norm / length;
        }

        return g;
    }

    public static double Norm(ReadOnlySpan<double> v) => Math.Sqrt(Dot(v, v));

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private void Check(ReadOnlySpan<double> activation)
    {
        if (activation.Length != Features)
        {
            throw new BeliefLensInputException($"activation: has {activation.Length} entries but the probe reads {Features}; use the probe's own site.");
        }
    }
}

/// <summary>One intervention pair: prefixes A and B of the same length, their beliefs and next-token distributions.</summary>
public sealed record PrefixPair(int[] TokensA, int[] TokensB, double[] BeliefA, double[] BeliefB, double[] NextA, double[] NextB);

/// <summary>Seeded samples of prefix pairs from a process (the data side of an intervention; no model involved).</summary>
public static class PrefixPairs
{
    /// <summary>Beliefs closer than this (Euclidean) are not a belief-steering pair: there is nothing to steer.</summary>
    public const double MinBeliefDistance = 0.05;

    /// <summary>Next-token distributions within this (max-abs) count as equal: the pair differs only in the kernel of the emission map.</summary>
    public const double SameNextTokenTolerance = 1e-9;

    /// <summary>A kernel pair's two-step-ahead distributions must differ by at least this much (L1): else the beliefs are equivalent for two tokens too.</summary>
    public const double MinTwoStepDifference = 0.05;

    /// <summary>
    /// <paramref name="count"/> pairs (A, B), each drawn from the process at a length uniform in 1..<paramref name="maxLength"/>,
    /// whose beliefs differ by at least <see cref="MinBeliefDistance"/>.
    /// </summary>
    public static List<PrefixPair> BeliefPairs(Process process, int count, int maxLength, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(process);
        var rng = new Rng(seed);
        var pairs = new List<PrefixPair>(count);
        for (int attempt = 0; pairs.Count < count; attempt++)
        {
            if (attempt > 100 * count + 1000)
            {
                throw new BeliefLensInputException(
                    $"process: found only {pairs.Count} of {count} prefix pairs whose beliefs differ by {MinBeliefDistance} in {attempt} draws; {process.Name} has too few distinct beliefs to steer between.");
            }

            int length = 1 + rng.NextInt(maxLength);
            var a = Draw(process, length, rng);
            var b = Draw(process, length, rng);
            if (Distance(a.Belief, b.Belief) >= MinBeliefDistance)
            {
                pairs.Add(new PrefixPair(a.Tokens, b.Tokens, a.Belief, b.Belief, BeliefMath.NextTokenDistribution(process, a.Belief), BeliefMath.NextTokenDistribution(process, b.Belief)));
            }
        }

        return pairs;
    }

    /// <summary>
    /// Up to <paramref name="count"/> pairs with the same next-token distribution but different two-step-ahead ones
    /// (the kernel of the emission map), at lengths 1..<paramref name="maxLength"/>; empty when the sampled beliefs
    /// have none (an injective emission map, as Mess3's).
    /// </summary>
    public static List<PrefixPair> KernelPairs(Process process, int count, int maxLength, ulong seed, int draws = 20_000)
    {
        ArgumentNullException.ThrowIfNull(process);
        var rng = new Rng(seed);
        var byLength = new Dictionary<int, List<(int[] Tokens, double[] Belief, double[] Next, double[] TwoStep)>>();
        for (int k = 0; k < draws; k++)
        {
            int length = 1 + rng.NextInt(maxLength);
            var (tokens, belief) = Draw(process, length, rng);
            if (!byLength.TryGetValue(length, out var list))
            {
                byLength[length] = list = [];
            }

            if (list.Count < 400 && list.All(e => Distance(e.Belief, belief) > 1e-9))
            {
                list.Add((tokens, belief, BeliefMath.NextTokenDistribution(process, belief), TwoStep(process, belief)));
            }
        }

        var pairs = new List<PrefixPair>();
        var candidates = new List<PrefixPair>();
        foreach (var list in byLength.OrderBy(kv => kv.Key).Select(kv => kv.Value))
        {
            for (int i = 0; i < list.Count; i++)
            {
                for (int j = 0; j < list.Count; j++)
                {
                    var (a, b) = (list[i], list[j]);
                    if (i != j && MaxAbs(a.Next, b.Next) <= SameNextTokenTolerance && L1(a.TwoStep, b.TwoStep) >= MinTwoStepDifference)
                    {
                        candidates.Add(new PrefixPair(a.Tokens, b.Tokens, a.Belief, b.Belief, a.Next, b.Next));
                    }
                }
            }
        }

        // A seeded, spread-out choice among all candidates.
        for (int k = 0; k < Math.Min(count, candidates.Count); k++)
        {
            int pick = k + rng.NextInt(candidates.Count - k);
            (candidates[k], candidates[pick]) = (candidates[pick], candidates[k]);
            pairs.Add(candidates[k]);
        }

        return pairs;
    }

    /// <summary>P(x1 x2 | η) flat [V·V] (x1 major), from two belief updates.</summary>
    public static double[] TwoStep(Process process, double[] belief)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(belief);
        int v = process.VocabSize;
        var first = BeliefMath.NextTokenDistribution(process, belief);
        var result = new double[v * v];
        var next = new double[process.StateCount];
        for (int x = 0; x < v; x++)
        {
            if (first[x] == 0)
            {
                continue;
            }

            BeliefMath.Update(process, belief, x, next);
            var second = BeliefMath.NextTokenDistribution(process, next);
            for (int y = 0; y < v; y++)
            {
                result[(x * v) + y] = first[x] * second[y];
            }
        }

        return result;
    }

    // A prefix generated by the process itself: each token drawn from the current belief's next-token distribution.
    private static (int[] Tokens, double[] Belief) Draw(Process process, int length, Rng rng)
    {
        var belief = (double[])process.InitialBelief.Clone();
        var next = new double[process.StateCount];
        var tokens = new int[length];
        for (int t = 0; t < length; t++)
        {
            var distribution = BeliefMath.NextTokenDistribution(process, belief);
            double u = rng.NextDouble();
            int x = 0;
            while (x < distribution.Length - 1 && (u -= distribution[x]) >= 0)
            {
                x++;
            }

            while (distribution[x] == 0)
            {
                x = (x + distribution.Length - 1) % distribution.Length; // rounding ran past the last nonzero token
            }

            tokens[t] = x;
            BeliefMath.Update(process, belief, x, next);
            (belief, next) = (next, belief);
        }

        return (tokens, belief);
    }

    private static double Distance(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += (a[i] - b[i]) * (a[i] - b[i]);
        }

        return Math.Sqrt(sum);
    }

    private static double MaxAbs(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    private static double L1(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Sum();
}
