namespace BeliefLens.Core;

/// <summary>How long to run the chaos game of <see cref="BeliefIfs"/>; valid by construction.</summary>
public sealed record IfsOptions
{
    public const long DefaultSteps = 1_000_000;
    public const int DefaultBurnIn = 1_000;

    public IfsOptions(long steps = DefaultSteps, int burnIn = DefaultBurnIn, ulong seed = 0)
    {
        if (steps < 1)
        {
            throw new BeliefLensInputException($"steps: {steps} must be at least 1 (chaos-game steps, e.g. 1000000).");
        }

        if (burnIn < 0)
        {
            throw new BeliefLensInputException($"burn_in: {burnIn} must be 0 or more.");
        }

        Steps = steps;
        BurnIn = burnIn;
        Seed = seed;
    }

    /// <summary>Steps whose entropies and Jacobians are averaged.</summary>
    public long Steps { get; }

    /// <summary>Steps run first and discarded, so the orbit forgets the start and lands on the attractor.</summary>
    public int BurnIn { get; }

    public ulong Seed { get; }
}

/// <summary>
/// What the chaos game measured. <see cref="Lyapunov"/> is sorted from the largest (least contracting) exponent down,
/// in nats per token; <see cref="EntropyRate"/> is h_μ in nats per token.
/// </summary>
public sealed record IfsResult(
    string Process,
    long Steps,
    int BurnIn,
    ulong Seed,
    double EntropyRate,
    double[] Lyapunov,
    int KaplanYorkeK,
    double LyapunovDimension,
    int SimplexDimension);

/// <summary>
/// The belief states as an iterated function system: token x maps a belief η to f_x(η) = ηT[x] / (ηT[x]·τ), chosen with
/// probability P(x|η) = ηT[x]·τ (<see cref="BeliefMath"/> does both). Running it (the chaos game) from the stationary
/// belief generates the process itself, so the orbit samples the stationary measure on beliefs (the Blackwell
/// measure) and the average next-token entropy along it is the entropy rate h_μ.
/// <para>
/// Lyapunov spectrum: the Jacobian of f_x at η acts on a tangent (row) vector v (v·τ = 0, beliefs keep η·τ = 1) as
/// Df_x(v) = vT[x]/p − ηT[x]·(vT[x]τ)/p², p = ηT[x]τ. Its image again has zero overlap with τ, so the S−1 tangent
/// directions stay in τ^⊥. They are propagated together and re-orthonormalised every step (modified Gram–Schmidt,
/// i.e. QR); the mean logs of R's diagonal are the exponents.
/// </para>
/// <para>
/// Lyapunov dimension: the maps all contract (λ_i &lt; 0), so nothing in the tangent space expands; what spreads the
/// measure is the choice of map. After n tokens about e^{n h_μ} typical map sequences (cylinders) carry the measure,
/// and each shrinks a j-dimensional volume by e^{n Σ_{i≤j} λ_i}. The entropy rate therefore plays the role the positive
/// exponents play in the Kaplan–Yorke formula: covering the measure with balls of the size of the (j+1)-th axis,
/// e^{n h_μ} · e^{n Σ_{i≤j} λ_i} · e^{n (d−j) λ_{j+1}} = 1 gives
/// d_LY = k + (h_μ + Σ_{i≤k} λ_i)/|λ_{k+1}|, with k the largest j in 0..S−1 such that h_μ + Σ_{i≤j} λ_i ≥ 0 (j = 0 is
/// the empty sum, so k ≥ 0 as h_μ ≥ 0). If every partial sum stays ≥ 0 the measure fills the simplex: d_LY = S−1,
/// the cap. It is an upper bound on the information dimension, reached when the images of different maps do not
/// overlap in measure (Jurgens and Crutchfield's Blackwell-measure dimension).
/// </para>
/// </summary>
public static class BeliefIfs
{
    /// <summary>Runs the chaos game and returns h_μ, the Lyapunov spectrum and d_LY.</summary>
    public static IfsResult Run(Process process, IfsOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(process);
        options ??= new IfsOptions();
        CheckDefined(process);
        int s = process.StateCount;
        int v = process.VocabSize;
        int k = s - 1; // tangent directions
        var transitions = process.Transitions;
        var tau = process.Tau;
        var belief = (double[])process.InitialBelief.Clone();
        var joints = new double[v * s]; // ηT[x] for every x
        var probabilities = new double[v];
        var basis = TangentBasis(tau); // k rows of length s, orthonormal, each ⟂ τ
        var image = new double[s];
        var sums = new double[k];
        double entropy = 0;
        var rng = new Rng(options.Seed);
        long total = options.Steps + options.BurnIn;
        for (long step = 0; step < total; step++)
        {
            double sum = 0;
            for (int x = 0; x < v; x++)
            {
                double p = BeliefMath.Propagate(transitions, tau, belief, x, joints.AsSpan(x * s, s));
                if (p < -BeliefMath.ZeroProbabilityTolerance)
                {
                    throw new BeliefLensInputException(
                        $"transitions: token {process.TokenNames[x]} gets probability {p:R} at a reachable belief; the process is not a valid (G)HMM.");
                }

                p = BeliefMath.IsZero(p) ? 0 : p;
                probabilities[x] = p;
                sum += p;
            }

            if (!(sum > 0))
            {
                throw new BeliefLensInputException(
                    $"transitions: every token has probability zero at a reachable belief of {process.Name}, so no map of its IFS is defined there; check the matrices.");
            }

            int token = Sample(probabilities, sum, rng);
            double chosen = probabilities[token];
            var joint = joints.AsSpan(token * s, s);
            bool measuring = step >= options.BurnIn;
            if (measuring)
            {
                for (int x = 0; x < v; x++)
                {
                    probabilities[x] /= sum; // drop rounding drift in η·τ, as BeliefMath.NextTokenDistribution does
                }

                entropy += BeliefMath.Entropy(probabilities);
            }

            PushTangents(transitions, tau, joint, chosen, token, basis, image, measuring ? sums : null);
            BeliefMath.Normalise(joint, chosen, belief);
        }

        var lyapunov = sums.Select(l => l / options.Steps).OrderDescending().ToArray();
        double h = entropy / options.Steps;
        var (kaplanYorkeK, dimension) = LyapunovDimension(h, lyapunov);
        return new IfsResult(process.Name, options.Steps, options.BurnIn, options.Seed, h, lyapunov, kaplanYorkeK, dimension, k);
    }

    /// <summary>
    /// d_LY = k + (h + Σ_{i≤k} λ_i)/|λ_{k+1}| for exponents sorted descending, with k the largest j such that
    /// h + Σ_{i≤j} λ_i ≥ 0, capped at the number of exponents (the simplex dimension). Returns (k, d_LY).
    /// </summary>
    public static (int K, double Dimension) LyapunovDimension(double entropyRate, IReadOnlyList<double> lyapunov)
    {
        ArgumentNullException.ThrowIfNull(lyapunov);
        double partial = entropyRate;
        for (int j = 0; j < lyapunov.Count; j++)
        {
            if (partial + lyapunov[j] < 0)
            {
                return (j, Math.Min(j + (partial / Math.Abs(lyapunov[j])), lyapunov.Count));
            }

            partial += lyapunov[j];
        }

        return (lyapunov.Count, lyapunov.Count);
    }

    /// <summary>
    /// Refuses a process with a token whose map is defined nowhere: T[x]τ = 0, so P(x|η) = ηT[x]τ = 0 for every belief.
    /// Such a token never occurs; its map f_x would divide by zero everywhere.
    /// </summary>
    public static void CheckDefined(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        int s = process.StateCount;
        for (int x = 0; x < process.VocabSize; x++)
        {
            bool nowhere = true;
            for (int i = 0; i < s && nowhere; i++)
            {
                double row = 0;
                for (int j = 0; j < s; j++)
                {
                    row += process.T(x, i, j) * process.Tau[j];
                }

                nowhere = Math.Abs(row) < BeliefMath.ZeroProbabilityTolerance;
            }

            if (nowhere)
            {
                throw new BeliefLensInputException(
                    $"transitions[{x}]: token {process.TokenNames[x]} has probability zero from every belief (T[x]τ = 0), so its IFS map f_x is defined nowhere; remove the token or give it a nonzero probability.");
            }
        }
    }

    /// <summary>An orthonormal basis of τ^⊥ (S−1 rows): Gram–Schmidt of τ followed by the unit vectors, τ dropped.</summary>
    public static double[][] TangentBasis(ReadOnlySpan<double> tau)
    {
        int s = tau.Length;
        var vectors = new List<double[]>(s) { Unit(tau.ToArray()) };
        for (int e = 0; e < s && vectors.Count < s; e++)
        {
            var candidate = new double[s];
            candidate[e] = 1;
            foreach (var q in vectors)
            {
                Subtract(candidate, q, Dot(candidate, q));
            }

            if (Math.Sqrt(Dot(candidate, candidate)) > 1e-8)
            {
                vectors.Add(Unit(candidate));
            }
        }

        return [.. vectors.Skip(1)];
    }

    private static int Sample(double[] probabilities, double sum, Rng rng)
    {
        double u = rng.NextDouble() * sum;
        int last = 0;
        for (int x = 0; x < probabilities.Length; x++)
        {
            if (probabilities[x] <= 0)
            {
                continue;
            }

            last = x;
            u -= probabilities[x];
            if (u < 0)
            {
                return x;
            }
        }

        return last; // u rounded past the end: the last token with nonzero probability
    }

    // v ← Df_x(v) = vT[x]/p − u (vT[x]τ)/p² for each tangent row, then modified Gram–Schmidt; adds ln R_ii to sums.
    private static void PushTangents(double[] transitions, double[] tau, ReadOnlySpan<double> joint, double p, int token,
        double[][] basis, double[] image, double[]? sums)
    {
        int s = tau.Length;
        double inverse = 1 / p;
        for (int r = 0; r < basis.Length; r++)
        {
            var row = basis[r];
            double mass = BeliefMath.Propagate(transitions, tau, row, token, image); // vT[x] and vT[x]τ
            double shift = mass * inverse * inverse;
            for (int j = 0; j < s; j++)
            {
                row[j] = (image[j] * inverse) - (joint[j] * shift);
            }

            for (int q = 0; q < r; q++)
            {
                Subtract(row, basis[q], Dot(row, basis[q]));
            }

            double norm = Math.Sqrt(Dot(row, row));
            if (norm < CollapsedNorm * inverse)
            {
                // A rank-deficient T[x] maps this direction to zero: its exponent is −∞ (e.g. RRXOR, whose beliefs are
                // finitely many points). Carry on with any direction of τ^⊥ orthogonal to the rows before it.
                ReplaceWithOrthogonal(basis, r, tau);
                if (sums is not null)
                {
                    sums[r] = double.NegativeInfinity;
                }

                continue;
            }

            for (int j = 0; j < s; j++)
            {
                row[j] /= norm;
            }

            if (sums is not null)
            {
                sums[r] += Math.Log(norm);
            }
        }
    }

    /// <summary>A tangent image shorter than this times 1/p (the Jacobian's scale) counts as annihilated: rounding residue.</summary>
    private const double CollapsedNorm = 1e-13;

    private static void ReplaceWithOrthogonal(double[][] basis, int r, double[] tau)
    {
        foreach (var candidate in TangentBasis(tau))
        {
            for (int q = 0; q < r; q++)
            {
                Subtract(candidate, basis[q], Dot(candidate, basis[q]));
            }

            double norm = Math.Sqrt(Dot(candidate, candidate));
            if (norm > 1e-6)
            {
                for (int j = 0; j < candidate.Length; j++)
                {
                    basis[r][j] = candidate[j] / norm;
                }

                return;
            }
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static void Subtract(double[] target, double[] direction, double amount)
    {
        for (int i = 0; i < target.Length; i++)
        {
            target[i] -= amount * direction[i];
        }
    }

    private static double[] Unit(double[] vector)
    {
        double norm = Math.Sqrt(Dot(vector, vector));
        for (int i = 0; i < vector.Length; i++)
        {
            vector[i] /= norm;
        }

        return vector;
    }
}
