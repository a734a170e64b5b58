namespace BeliefLens.Core;

/// <summary>Whether beliefs are probability vectors (HMM) or general quasi-probabilities (GHMM).</summary>
public enum ProcessKind
{
    Hmm,
    Ghmm,
}

/// <summary>Thrown for any invalid user input; the message is one line naming the field and the fix.</summary>
public sealed class BeliefLensInputException(string message) : Exception(message);

/// <summary>
/// An edge-emitting (generalized) hidden Markov process.
/// <c>T[x][i][j] = P(emit x, go to j | in i)</c>, stored flat as <c>Transitions[(x*S + i)*S + j]</c>.
/// Beliefs satisfy <c>b·τ = 1</c>; <c>P(x|b) = b T[x] τ</c>.
/// </summary>
public sealed class Process
{
    public const double StochasticTolerance = 1e-9;

    private Process(
        string name,
        ProcessKind kind,
        int vocabSize,
        int stateCount,
        double[] transitions,
        double[] tau,
        double[] initialBelief,
        IReadOnlyList<string> tokenNames,
        IReadOnlyList<string> stateNames)
    {
        Name = name;
        Kind = kind;
        VocabSize = vocabSize;
        StateCount = stateCount;
        Transitions = transitions;
        Tau = tau;
        InitialBelief = initialBelief;
        TokenNames = tokenNames;
        StateNames = stateNames;
    }

    public string Name { get; }
    public ProcessKind Kind { get; }
    public int VocabSize { get; }
    public int StateCount { get; }

    /// <summary>Flat <c>[V][S][S]</c>; do not mutate.</summary>
    public double[] Transitions { get; }

    /// <summary>Right eigenvector of <c>Σx T[x]</c> for eigenvalue 1 (all ones for an HMM).</summary>
    public double[] Tau { get; }

    /// <summary>The belief before any token: stationary π with <c>π·τ = 1</c>, or the given initial state.</summary>
    public double[] InitialBelief { get; }

    public IReadOnlyList<string> TokenNames { get; }
    public IReadOnlyList<string> StateNames { get; }

    /// <summary>How a mixture or product was composed (components or factors), or null for a plain process.</summary>
    public CompositeStructure? Composite { get; private init; }

    /// <summary>The same matrices under another name and/or with its composition attached.</summary>
    internal Process With(string? name = null, CompositeStructure? composite = null) =>
        new(name ?? Name, Kind, VocabSize, StateCount, Transitions, Tau, InitialBelief, TokenNames, StateNames)
        {
            Composite = composite ?? Composite,
        };

    public double T(int token, int from, int to) => Transitions[((token * StateCount) + from) * StateCount + to];

    /// <summary>
    /// Builds and validates a process. For an HMM every entry must lie in [0,1] and the rows of
    /// <c>Σx T[x]</c> must sum to 1; for a GHMM the matrices are rescaled to spectral radius 1.
    /// </summary>
    public static Process Create(
        string name,
        ProcessKind kind,
        double[][][] transitions,
        double[]? initial = null,
        IReadOnlyList<string>? tokenNames = null,
        IReadOnlyList<string>? stateNames = null,
        double[]? tau = null)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new BeliefLensInputException("name: the process needs a non-empty name.");
        }

        int v = transitions.Length;
        if (v == 0)
        {
            throw new BeliefLensInputException("transitions: need at least one token matrix, shape [V][S][S].");
        }

        int s = transitions[0]?.Length ?? 0;
        if (s == 0)
        {
            throw new BeliefLensInputException("transitions[0]: need at least one state, shape [V][S][S].");
        }

        var flat = new double[v * s * s];
        for (int x = 0; x < v; x++)
        {
            if (transitions[x] is null || transitions[x].Length != s)
            {
                throw new BeliefLensInputException(
                    $"transitions[{x}]: has {transitions[x]?.Length ?? 0} rows but transitions[0] has {s}; every token matrix must be S×S.");
            }

            for (int i = 0; i < s; i++)
            {
                var row = transitions[x][i];
                if (row is null || row.Length != s)
                {
                    throw new BeliefLensInputException(
                        $"transitions[{x}][{i}]: has {row?.Length ?? 0} entries but needs {s} (one per state).");
                }

                for (int j = 0; j < s; j++)
                {
                    double value = row[j];
                    if (!double.IsFinite(value))
                    {
                        throw new BeliefLensInputException($"transitions[{x}][{i}][{j}]: is not a finite number.");
                    }

                    if (kind == ProcessKind.Hmm && (value < 0 || value > 1))
                    {
                        throw new BeliefLensInputException(
                            $"transitions[{x}][{i}][{j}]: {value} is outside [0,1]; HMM entries are probabilities (use type \"ghmm\" for negative entries).");
                    }

                    flat[((x * s) + i) * s + j] = value;
                }
            }
        }

        var total = SumOverTokens(flat, v, s);
        if (kind == ProcessKind.Hmm)
        {
            for (int i = 0; i < s; i++)
            {
                double rowSum = 0;
                for (int j = 0; j < s; j++)
                {
                    rowSum += total[i * s + j];
                }

                if (Math.Abs(rowSum - 1) > StochasticTolerance)
                {
                    throw new BeliefLensInputException(
                        $"transitions: row {i} of Σx T[x] sums to {rowSum:R}, not 1; each state's outgoing probabilities must sum to 1.");
                }
            }
        }
        else
        {
            double radius = LinearAlgebra.SpectralRadius(total, s);
            if (!(radius > 0))
            {
                throw new BeliefLensInputException("transitions: Σx T[x] has spectral radius 0; a GHMM needs a nonzero dominant eigenvalue.");
            }

            if (Math.Abs(radius - 1) > 1e-12)
            {
                for (int k = 0; k < flat.Length; k++)
                {
                    flat[k] /= radius;
                }

                for (int k = 0; k < total.Length; k++)
                {
                    total[k] /= radius;
                }
            }
        }

        if (tau is not null)
        {
            tau = CheckGivenTau(kind, tau, total, s);
        }
        else if (kind == ProcessKind.Hmm)
        {
            tau = Enumerable.Repeat(1.0, s).ToArray();
        }
        else
        {
            tau = LinearAlgebra.NullVector(LinearAlgebra.MinusIdentity(total, s), s)
                ?? throw new BeliefLensInputException("transitions: Σx T[x] has no unique right eigenvector for eigenvalue 1 (τ); check the matrices.");
            double sum = tau.Sum();
            if (Math.Abs(sum) < 1e-300)
            {
                throw new BeliefLensInputException("transitions: the right eigenvector τ sums to 0 and cannot be normalised.");
            }

            for (int i = 0; i < s; i++)
            {
                tau[i] *= s / sum;
            }
        }

        double[] start;
        if (initial is not null)
        {
            if (initial.Length != s)
            {
                throw new BeliefLensInputException($"initial: has {initial.Length} entries but the process has {s} states.");
            }

            if (initial.Any(d => !double.IsFinite(d)))
            {
                throw new BeliefLensInputException("initial: every entry must be a finite number.");
            }

            if (kind == ProcessKind.Hmm && initial.Any(d => d < 0))
            {
                throw new BeliefLensInputException("initial: HMM initial probabilities must be non-negative.");
            }

            double norm = Dot(initial, tau);
            if (Math.Abs(norm) < 1e-12)
            {
                throw new BeliefLensInputException("initial: its overlap with τ is 0, so it cannot be normalised to a belief (need initial·τ = 1).");
            }

            if (kind == ProcessKind.Hmm && Math.Abs(norm - 1) > StochasticTolerance)
            {
                throw new BeliefLensInputException($"initial: sums to {norm:R}, not 1; give a probability vector.");
            }

            start = initial.Select(d => d / norm).ToArray();
        }
        else
        {
            // Stationary π: left null vector of (T − I), unique only when that null space is one-dimensional.
            var transposed = LinearAlgebra.Transpose(LinearAlgebra.MinusIdentity(total, s), s);
            start = LinearAlgebra.NullVector(transposed, s)
                ?? throw new BeliefLensInputException(
                    "initial: the stationary distribution is not unique (the process is not ergodic); give an \"initial\" state distribution.");
            double norm = Dot(start, tau);
            if (Math.Abs(norm) < 1e-300)
            {
                throw new BeliefLensInputException("initial: the stationary vector has π·τ = 0; give an \"initial\" state distribution.");
            }

            for (int i = 0; i < s; i++)
            {
                start[i] /= norm;
            }

            if (kind == ProcessKind.Hmm)
            {
                for (int i = 0; i < s; i++)
                {
                    if (start[i] < 0)
                    {
                        if (start[i] < -1e-9)
                        {
                            throw new BeliefLensInputException("initial: the stationary vector has negative entries; give an \"initial\" state distribution.");
                        }

                        start[i] = 0;
                    }
                }
            }
        }

        var tokens = tokenNames?.ToArray() ?? Enumerable.Range(0, v).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (tokens.Length != v)
        {
            throw new BeliefLensInputException($"tokens: has {tokens.Length} names but there are {v} token matrices.");
        }

        var states = stateNames?.ToArray() ?? Enumerable.Range(0, s).Select(k => $"s{k}").ToArray();
        if (states.Length != s)
        {
            throw new BeliefLensInputException($"states: has {states.Length} names but the matrices have {s} states.");
        }

        return new Process(name, kind, v, s, flat, tau, start, tokens, states);
    }

    // A caller-supplied τ (needed when eigenvalue 1 is degenerate, as in mixtures) must satisfy (Σx T[x]) τ = τ.
    private static double[] CheckGivenTau(ProcessKind kind, double[] given, double[] total, int s)
    {
        if (given.Length != s || given.Any(d => !double.IsFinite(d)))
        {
            throw new BeliefLensInputException($"tau: needs {s} finite entries (one per state).");
        }

        if (kind == ProcessKind.Hmm && given.Any(d => d != 1))
        {
            throw new BeliefLensInputException("tau: an HMM's τ is all ones; omit it.");
        }

        double sum = given.Sum();
        if (Math.Abs(sum) < 1e-300)
        {
            throw new BeliefLensInputException("tau: sums to 0 and cannot be normalised.");
        }

        var tau = given.Select(d => d * s / sum).ToArray();
        for (int i = 0; i < s; i++)
        {
            double image = 0;
            for (int j = 0; j < s; j++)
            {
                image += total[i * s + j] * tau[j];
            }

            if (Math.Abs(image - tau[i]) > 1e-9 * Math.Max(1, Math.Abs(tau[i])))
            {
                throw new BeliefLensInputException($"tau: entry {i} is not preserved by Σx T[x] (need (Σx T[x]) τ = τ).");
            }
        }

        return tau;
    }

    private static double[] SumOverTokens(double[] flat, int v, int s)
    {
        var total = new double[s * s];
        for (int x = 0; x < v; x++)
        {
            for (int k = 0; k < s * s; k++)
            {
                total[k] += flat[x * s * s + k];
            }
        }

        return total;
    }

    private static double Dot(double[] a, double[] b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
