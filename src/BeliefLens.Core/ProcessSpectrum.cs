using System.Globalization;
using System.Numerics;

namespace BeliefLens.Core;

/// <summary>What an eigenvalue asks of attention: its sign pattern decides how many softmax heads one decay profile needs.</summary>
public enum EigenvalueKind
{
    /// <summary>λ = 1: no decay (a uniform average); only relevant for a non-ergodic process.</summary>
    Stationary,

    /// <summary>λ = 0: the shift lives only at distance 0, the current token, which the residual stream already carries.</summary>
    Zero,

    /// <summary>0 &lt; λ &lt; 1: weights λⁿ, one head.</summary>
    PositiveReal,

    /// <summary>λ &lt; 0: weights alternate in sign, which one softmax (positive weights) cannot produce.</summary>
    NegativeReal,

    /// <summary>A complex-conjugate pair λ, λ̄ (listed once, on Im λ &gt; 0): the shift rotates by arg λ per step.</summary>
    ComplexPair,
}

/// <summary>
/// One distinct eigenvalue of <c>T = Σx T[x]</c>: its algebraic and geometric multiplicities and, when the expansion is
/// defined, the largest norm of a one-token shift's component in its eigenspace (<see cref="ShiftNorm"/>).
/// </summary>
public sealed record EigenvalueGroup(Complex Value, int AlgebraicMultiplicity, int GeometricMultiplicity, double ShiftNorm, bool Relevant)
{
    public EigenvalueKind Kind =>
        Complex.Abs(Value - Complex.One) <= ProcessSpectrum.GroupTolerance ? EigenvalueKind.Stationary
        : Complex.Abs(Value) <= ProcessSpectrum.GroupTolerance ? EigenvalueKind.Zero
        : Math.Abs(Value.Imaginary) <= ProcessSpectrum.GroupTolerance ? (Value.Real > 0 ? EigenvalueKind.PositiveReal : EigenvalueKind.NegativeReal)
        : EigenvalueKind.ComplexPair;

    /// <summary>
    /// Heads one decay profile of this eigenvalue needs over distances 0..<paramref name="maxDistance"/>: the fewest
    /// vectors whose nonnegative combinations reach every direction the shift takes (a head adds
    /// <c>weight(n) ≥ 0 × its OV vector</c>). The component of a shift at distance n is <c>|λ|ⁿ R(n·arg λ) c</c>, so the
    /// directions are the angles n·arg λ: all equal → 1; exactly two opposite (λ &lt; 0) or within an arc shorter than
    /// a half-turn → 2; otherwise → 3 (a plane is the cone of no fewer than 3 vectors). 0 for an irrelevant
    /// eigenvalue, λ = 0, and the conjugate (Im λ &lt; 0) member of a pair.
    /// </summary>
    public int HeadsFor(int maxDistance)
    {
        if (!Relevant || Kind == EigenvalueKind.Zero || Value.Imaginary < -ProcessSpectrum.GroupTolerance)
        {
            return 0;
        }

        if (Kind is EigenvalueKind.Stationary or EigenvalueKind.PositiveReal || maxDistance < 1)
        {
            return 1;
        }

        if (Kind == EigenvalueKind.NegativeReal)
        {
            return 2;
        }

        double theta = Value.Phase;
        var angles = Enumerable.Range(0, maxDistance + 1)
            .Select(n => ((n * theta % (2 * Math.PI)) + (2 * Math.PI)) % (2 * Math.PI))
            .Order().ToArray();
        double largestGap = (2 * Math.PI) - angles[^1] + angles[0];
        for (int i = 1; i < angles.Length; i++)
        {
            largestGap = Math.Max(largestGap, angles[i] - angles[i - 1]);
        }

        double arc = (2 * Math.PI) - largestGap;
        return arc < Math.PI - 1e-12 ? 2 : 3;
    }
}

/// <summary>
/// The spectrum of a process's net matrix <c>T = Σx T[x]</c> and the first-order ("constrained") belief update of
/// Piotrowski, Riechers, Filan &amp; Shai (2025) built on it. With π the initial (stationary) belief, η⁽ᶻ⁾ the belief after
/// the single token z and <c>Δz = η⁽ᶻ⁾ − π</c>, each shift is split over the left eigenspaces of T,
/// <c>Δz = Σk Pk Δz</c>, and the constrained belief after tokens z1..zd is
/// <c>ηd ≈ π + Σs Σk λk^(d−s) Pk Δ(zs)</c> (real part; conjugate pairs cancel the imaginary parts). For Mess3, whose
/// shifts all lie in the double eigenvalue 1 − 3x, this is the paper's <c>π + Σs λ^(d−s) Δ(zs)</c>. It equals
/// <c>π + Σs Δ(zs) T^(d−s)</c> whenever every shift lies in the span of T's eigenvectors, and it is exact at d = 1.
/// The expansion is undefined (and <see cref="ExpansionUndefined"/> says why in one line) when π is not stationary,
/// a first token has probability zero, or a shift is not in the span of the eigenvectors (T defective on it).
/// </summary>
public sealed class ProcessSpectrum
{
    /// <summary>Eigenvalues closer than this are one group (QR's error on a semisimple multiple eigenvalue is ~1e-15).</summary>
    public const double GroupTolerance = 1e-7;

    /// <summary>Relative residual above which a shift counts as outside the eigenvectors' span.</summary>
    public const double SpanTolerance = 1e-8;

    private readonly Complex[][][]? _projections; // [group][token] = Pk Δz (complex, length S)

    private ProcessSpectrum(Process process, Complex[] eigenvalues, IReadOnlyList<EigenvalueGroup> groups, double[] stationary,
        double[]?[] shifts, Complex[][][]? projections, string? undefined)
    {
        Process = process;
        Eigenvalues = eigenvalues;
        Groups = groups;
        Stationary = stationary;
        Shifts = shifts;
        _projections = projections;
        ExpansionUndefined = undefined;
    }

    public Process Process { get; }

    /// <summary>Every eigenvalue of T with multiplicity, sorted by modulus (descending), then real part, then imaginary part.</summary>
    public Complex[] Eigenvalues { get; }

    /// <summary>The distinct eigenvalues, in the order of <see cref="Eigenvalues"/>.</summary>
    public IReadOnlyList<EigenvalueGroup> Groups { get; }

    /// <summary>π: the process's initial belief.</summary>
    public double[] Stationary { get; }

    /// <summary>Δz = η⁽ᶻ⁾ − π per token; null for a token with probability zero from π.</summary>
    public double[]?[] Shifts { get; }

    /// <summary>Null when the constrained expansion is defined; otherwise one line saying why not.</summary>
    public string? ExpansionUndefined { get; }

    /// <summary>The predicted minimal number of attention heads for a context of <paramref name="contextLength"/>: Σ over groups of <see cref="EigenvalueGroup.HeadsFor"/>.</summary>
    public int PredictedHeads(int contextLength) => Groups.Sum(g => g.HeadsFor(Math.Max(0, contextLength - 1)));

    /// <summary>Computes the spectrum, the shifts and their eigenspace components.</summary>
    public static ProcessSpectrum Of(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        int s = process.StateCount;
        var net = new double[s * s];
        for (int x = 0; x < process.VocabSize; x++)
        {
            for (int k = 0; k < s * s; k++)
            {
                net[k] += process.Transitions[(x * s * s) + k];
            }
        }

        var values = GeneralEigen.Eigenvalues(net, s)
            .OrderByDescending(Complex.Abs).ThenByDescending(v => Math.Round(v.Real, 9)).ThenByDescending(v => v.Imaginary).ToArray();
        var clusters = Cluster(values);

        // Left eigenvectors v T = λ v, i.e. null vectors of Tᵀ − λI, for each distinct eigenvalue.
        var vectors = new List<Complex[]>();
        var owner = new List<int>();
        var geometric = new int[clusters.Count];
        for (int g = 0; g < clusters.Count; g++)
        {
            var shifted = new Complex[s * s];
            for (int i = 0; i < s; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    shifted[(i * s) + j] = net[(j * s) + i] - (i == j ? clusters[g].Value : Complex.Zero);
                }
            }

            var basis = GeneralEigen.NullSpace(shifted, s, relativeTolerance: 1e-9);
            geometric[g] = basis.Length;
            foreach (var v in basis)
            {
                vectors.Add(v);
                owner.Add(g);
            }
        }

        var pi = (double[])process.InitialBelief.Clone();
        var shifts = new double[]?[process.VocabSize];
        var next = new double[s];
        for (int z = 0; z < process.VocabSize; z++)
        {
            double p = BeliefMath.Update(process, pi, z, next);
            shifts[z] = p == 0 ? null : next.Select((b, i) => b - pi[i]).ToArray();
        }

        string? undefined = WhyUndefined(process, net, pi, shifts, clusters, geometric);
        Complex[][][]? projections = null;
        if (undefined is null)
        {
            (projections, undefined) = Project(shifts, vectors, owner, clusters.Count, s, clusters, geometric);
        }

        double scale = shifts.Where(d => d is not null).Select(d => Norm(d!)).DefaultIfEmpty(0).Max();
        var groups = new List<EigenvalueGroup>();
        for (int g = 0; g < clusters.Count; g++)
        {
            double shiftNorm = projections is null ? double.NaN
                : projections[g].Max(p => Math.Sqrt(p.Sum(c => (c.Real * c.Real) + (c.Imaginary * c.Imaginary))));

            // Without the expansion, which eigenvalues the shifts reach is unknown: every one but a simple λ = 1 counts.
            bool relevant = projections is null
                ? !(Complex.Abs(clusters[g].Value - Complex.One) <= GroupTolerance && clusters[g].Count == 1)
                : shiftNorm > 1e-9 * Math.Max(scale, double.Epsilon);
            groups.Add(new EigenvalueGroup(clusters[g].Value, clusters[g].Count, geometric[g], shiftNorm, relevant));
        }

        return new ProcessSpectrum(process, values, groups, pi, shifts, projections, undefined);
    }

    /// <summary>
    /// The constrained beliefs of sequences: <paramref name="tokens"/> is flat [N, <paramref name="length"/>]; the result
    /// is flat [N·length, S], row (q·length + j) the constrained belief after tokens 0..j (d = j + 1), like the exact
    /// beliefs of the probe inputs. Throws <see cref="BeliefLensInputException"/> when the expansion is undefined.
    /// <para>With <paramref name="softmaxNormalised"/>, each eigenvalue's sum is divided by the normaliser a softmax head
    /// with weights |λk|ⁿ over the d keys has, <c>Z = Σ_(n&lt;d) |λk|ⁿ</c> (1 for λ = 0): what one attention layer can hold
    /// before a later layer undoes the position-dependent scale. At d = 1 both forms are the exact belief.</para>
    /// </summary>
    public double[] ConstrainedBeliefs(int[] tokens, int length, bool softmaxNormalised = false)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (_projections is null)
        {
            throw new BeliefLensInputException(ExpansionUndefined!);
        }

        if (length < 1 || tokens.Length % length != 0)
        {
            throw new ArgumentException($"tokens: {tokens.Length} is not a whole number of sequences of length {length}.", nameof(tokens));
        }

        int s = Process.StateCount, groups = Groups.Count;
        var output = new double[tokens.Length * s];
        var accumulated = new Complex[groups][];
        var normaliser = new double[groups];
        for (int g = 0; g < groups; g++)
        {
            accumulated[g] = new Complex[s];
        }

        for (int q = 0; q < tokens.Length / length; q++)
        {
            foreach (var a in accumulated)
            {
                Array.Clear(a);
            }

            Array.Clear(normaliser);

            for (int j = 0; j < length; j++)
            {
                int row = (q * length) + j, z = tokens[row];
                if ((uint)z >= (uint)Process.VocabSize)
                {
                    throw new BeliefLensInputException($"tokens: {z} is not a token of {Process.Name} (0..{Process.VocabSize - 1}).");
                }

                var belief = output.AsSpan(row * s, s);
                Stationary.CopyTo(belief);
                for (int g = 0; g < groups; g++)
                {
                    // E_k(d) = λk E_k(d−1) + Pk Δ(zd): each earlier shift has decayed once more.
                    var lambda = Groups[g].Value;
                    var a = accumulated[g];
                    var p = _projections[g][z];
                    normaliser[g] = (Complex.Abs(lambda) * normaliser[g]) + 1;
                    double scale = softmaxNormalised ? 1 / normaliser[g] : 1;
                    for (int i = 0; i < s; i++)
                    {
                        a[i] = (lambda * a[i]) + p[i];
                        belief[i] += scale * a[i].Real;
                    }
                }
            }
        }

        return output;
    }

    /// <summary>The eigenvalue groups, formatted for messages: "1, 0.85 (×2)".</summary>
    public string Describe() => string.Join(", ", Groups.Select(g =>
        Format(g.Value) + (g.AlgebraicMultiplicity > 1 ? $" (×{g.AlgebraicMultiplicity})" : string.Empty)));

    public static string Format(Complex v) =>
        Math.Abs(v.Imaginary) <= GroupTolerance ? v.Real.ToString("G6", CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{v.Real:G6}{(v.Imaginary < 0 ? "−" : "+")}{Math.Abs(v.Imaginary):G6}i");

    private sealed record ClusterInfo(Complex Value, int Count);

    /// <summary>Groups eigenvalues within <see cref="GroupTolerance"/> (transitively); a group's value is its mean.</summary>
    private static List<ClusterInfo> Cluster(Complex[] values)
    {
        var members = new List<List<Complex>>();
        foreach (var v in values)
        {
            var home = members.FirstOrDefault(m => m.Any(u => Complex.Abs(u - v) <= GroupTolerance));
            if (home is null)
            {
                members.Add([v]);
            }
            else
            {
                home.Add(v);
            }
        }

        return members.Select(m => new ClusterInfo(m.Aggregate(Complex.Zero, (a, b) => a + b) / m.Count, m.Count)).ToList();
    }

    private static string? WhyUndefined(Process process, double[] net, double[] pi, double[]?[] shifts, List<ClusterInfo> clusters, int[] geometric)
    {
        int s = process.StateCount;
        double drift = 0;
        for (int j = 0; j < s; j++)
        {
            double sum = 0;
            for (int i = 0; i < s; i++)
            {
                sum += pi[i] * net[(i * s) + j];
            }

            drift = Math.Max(drift, Math.Abs(sum - pi[j]));
        }

        if (drift > 1e-9)
        {
            return $"constrained beliefs: the initial belief of {process.Name} is not stationary (|πT − π| = {drift:G3}), so there is no fixed point to expand around.";
        }

        int missing = Array.FindIndex(shifts, d => d is null);
        if (missing >= 0)
        {
            return $"constrained beliefs: token {process.TokenNames[missing]} has probability zero from π in {process.Name}, so its one-token shift Δ is undefined.";
        }

        return null;
    }

    /// <summary>
    /// Splits each shift over the eigenvectors by least squares (normal equations on unit-norm vectors) and checks the
    /// residual; the components of one group summed give Pk Δz.
    /// </summary>
    private static (Complex[][][]? Projections, string? Undefined) Project(double[]?[] shifts, List<Complex[]> vectors, List<int> owner, int groups, int s,
        List<ClusterInfo> clusters, int[] geometric)
    {
        int m = vectors.Count, v = shifts.Length;
        var gram = new Complex[m * m];
        for (int a = 0; a < m; a++)
        {
            for (int b = 0; b < m; b++)
            {
                // (L Lᴴ)ᵀ: the system for the coefficients c of Δ ≈ c L is c (L Lᴴ) = Δ Lᴴ, i.e. (L Lᴴ)ᵀ cᵀ = (Δ Lᴴ)ᵀ.
                Complex sum = Complex.Zero;
                for (int i = 0; i < s; i++)
                {
                    sum += vectors[b][i] * Complex.Conjugate(vectors[a][i]);
                }

                gram[(a * m) + b] = sum;
            }
        }

        var projections = new Complex[groups][][];
        for (int g = 0; g < groups; g++)
        {
            projections[g] = new Complex[v][];
        }

        for (int z = 0; z < v; z++)
        {
            var delta = shifts[z]!;
            var rhs = new Complex[m];
            for (int a = 0; a < m; a++)
            {
                Complex sum = Complex.Zero;
                for (int i = 0; i < s; i++)
                {
                    sum += delta[i] * Complex.Conjugate(vectors[a][i]);
                }

                rhs[a] = sum;
            }

            var coefficients = GeneralEigen.Solve(gram, rhs, m);
            for (int g = 0; g < groups; g++)
            {
                projections[g][z] = new Complex[s];
            }

            if (coefficients is not null)
            {
                for (int a = 0; a < m; a++)
                {
                    for (int i = 0; i < s; i++)
                    {
                        projections[owner[a]][z][i] += coefficients[a] * vectors[a][i];
                    }
                }
            }

            double residual = 0;
            for (int i = 0; i < s; i++)
            {
                var sum = Complex.Zero;
                for (int g = 0; g < groups; g++)
                {
                    sum += projections[g][z][i];
                }

                residual = Math.Max(residual, Complex.Abs(sum - delta[i]));
            }

            if (coefficients is null || residual > SpanTolerance * Math.Max(Norm(delta), 1e-300))
            {
                int defective = Enumerable.Range(0, groups).FirstOrDefault(g => geometric[g] < clusters[g].Count, -1);
                string why = defective >= 0
                    ? $"T is defective at λ = {Format(clusters[defective].Value)} (multiplicity {clusters[defective].Count}, {geometric[defective]} eigenvector(s))"
                    : "T's eigenvectors are numerically dependent";
                return (null, $"constrained beliefs: the shift Δ of token {z} is not in the span of T's eigenvectors ({why}), so the update has no expansion into exponential decays.");
            }
        }

        return (projections, null);
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));
}
