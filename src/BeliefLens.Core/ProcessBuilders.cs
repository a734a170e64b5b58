namespace BeliefLens.Core;

/// <summary>Builds new processes from existing ones: weighted non-ergodic mixtures and a BOS start state.</summary>
public static class ProcessBuilders
{
    /// <summary>The name of the extra token and state added by <see cref="WithBos"/>.</summary>
    public const string BosName = "BOS";

    /// <summary>
    /// A non-ergodic mixture: block-diagonal matrices (no transitions between components) and the initial belief
    /// <c>w_c · b_c</c> on component c's block. All components need the same vocabulary size; weights must be positive
    /// and are normalised to sum to 1. The result is a GHMM if any component is.
    /// </summary>
    public static Process Mixture(IReadOnlyList<(Process Process, double Weight)> components, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0)
        {
            throw new BeliefLensInputException("mixture: needs at least one component process.");
        }

        int v = components[0].Process.VocabSize;
        double weightSum = 0;
        for (int c = 0; c < components.Count; c++)
        {
            var (process, weight) = components[c];
            if (process.VocabSize != v)
            {
                throw new BeliefLensInputException(
                    $"mixture: component {c} ({process.Name}) has {process.VocabSize} tokens but component 0 has {v}; components must share a vocabulary.");
            }

            if (!(weight > 0) || !double.IsFinite(weight))
            {
                throw new BeliefLensInputException($"mixture: weight {c} is {weight}; weights must be positive numbers.");
            }

            weightSum += weight;
        }

        int s = components.Sum(c => c.Process.StateCount);
        var kind = components.Any(c => c.Process.Kind == ProcessKind.Ghmm) ? ProcessKind.Ghmm : ProcessKind.Hmm;
        var t = Zeros(v, s);
        var initial = new double[s];
        var tau = new double[s];
        var states = new List<string>();
        int offset = 0;
        for (int c = 0; c < components.Count; c++)
        {
            var (process, weight) = components[c];
            int n = process.StateCount;
            for (int x = 0; x < v; x++)
            {
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        t[x][offset + i][offset + j] = process.T(x, i, j);
                    }
                }
            }

            for (int i = 0; i < n; i++)
            {
                initial[offset + i] = weight / weightSum * process.InitialBelief[i];
                tau[offset + i] = process.Tau[i];
                states.Add($"{c}:{process.StateNames[i]}");
            }

            offset += n;
        }

        name ??= "mixture(" + string.Join(",", components.Select(c => $"{c.Weight / weightSum:R}*{c.Process.Name}")) + ")";
        return Process.Create(name, kind, t, initial, components[0].Process.TokenNames, states, kind == ProcessKind.Ghmm ? tau : null);
    }

    /// <summary>
    /// For a process built by <see cref="Mixture"/>, the component index of every state (from the "c:" prefix that
    /// Mixture gives state names); null for any other process.
    /// </summary>
    public static int[]? ComponentOfStates(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        var components = new int[process.StateCount];
        for (int i = 0; i < process.StateCount; i++)
        {
            string name = process.StateNames[i];
            int colon = name.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || !int.TryParse(name.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out components[i]))
            {
                return null;
            }
        }

        return components.Max() > 0 ? components : null;
    }

    /// <summary>
    /// Adds a token and a state named BOS (both with the last index). The process starts in the BOS state, which emits
    /// BOS with probability 1 and moves to the original initial belief; BOS is never emitted again.
    /// </summary>
    public static Process WithBos(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        int v = process.VocabSize;
        int s = process.StateCount;
        var t = Zeros(v + 1, s + 1);
        for (int x = 0; x < v; x++)
        {
            for (int i = 0; i < s; i++)
            {
                for (int j = 0; j < s; j++)
                {
                    t[x][i][j] = process.T(x, i, j);
                }
            }
        }

        for (int j = 0; j < s; j++)
        {
            t[v][s][j] = process.InitialBelief[j];
        }

        var initial = new double[s + 1];
        initial[s] = 1;
        double[]? tau = null;
        if (process.Kind == ProcessKind.Ghmm)
        {
            // τ_BOS = π·τ = 1 keeps (Σx T[x]) τ = τ; the original block keeps its τ.
            tau = [.. process.Tau, 1.0];
        }

        return Process.Create(
            process.Name + "+bos",
            process.Kind,
            t,
            initial,
            [.. process.TokenNames, BosName],
            [.. process.StateNames, BosName],
            tau);
    }

    /// <summary>An all-zero <c>[V][S][S]</c> transition array.</summary>
    internal static double[][][] Zeros(int vocab, int states)
    {
        var t = new double[vocab][][];
        for (int x = 0; x < vocab; x++)
        {
            t[x] = new double[states][];
            for (int i = 0; i < states; i++)
            {
                t[x][i] = new double[states];
            }
        }

        return t;
    }
}
