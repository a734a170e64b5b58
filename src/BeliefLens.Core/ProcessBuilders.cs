namespace BeliefLens.Core;

/// <summary>One component of a mixture: its process, weight and (optional) map from its tokens to the shared vocabulary.</summary>
public sealed record MixtureComponent(Process Process, double Weight, IReadOnlyList<int>? VocabMap = null);

/// <summary>Builds new processes from existing ones: weighted non-ergodic mixtures, products and a BOS start state.</summary>
public static partial class ProcessBuilders
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

        name ??= "mixture(" + string.Join(",", components.Select(c => $"{c.Weight / weightSum:R}*{c.Process.Name}")) + ")";
        return Mixture(components.Select(c => new MixtureComponent(c.Process, c.Weight / weightSum)).ToArray(), bos: false, name);
    }

    /// <summary>
    /// A non-ergodic mixture with its vocabulary composed: component c's token x is the shared token
    /// <c>VocabMap[x]</c> (identity when null). Within a component the map must be one-to-one; across components tokens
    /// may be shared; every shared token 0..V−1 must be used by some component. Weights must be positive and sum to 1.
    /// With <paramref name="bos"/> a BOS token and state (both last) start every sequence. Errors name the field as the
    /// JSON spec spells it (<c>components[c].vocab_map</c>, <c>components[c].weight</c>).
    /// </summary>
    public static Process Mixture(IReadOnlyList<MixtureComponent> components, bool bos, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(components);
        if (components.Count == 0)
        {
            throw new BeliefLensInputException("components: needs at least one component process.");
        }

        var maps = new int[components.Count][];
        double weightSum = 0;
        for (int c = 0; c < components.Count; c++)
        {
            var (process, weight, map) = components[c];
            if (!(weight > 0) || !double.IsFinite(weight))
            {
                throw new BeliefLensInputException($"components[{c}].weight: {weight} is not a positive number; give each component a weight > 0.");
            }

            weightSum += weight;
            maps[c] = map?.ToArray() ?? Enumerable.Range(0, process.VocabSize).ToArray();
            if (maps[c].Length != process.VocabSize)
            {
                throw new BeliefLensInputException(
                    $"components[{c}].vocab_map: has {maps[c].Length} entries but {process.Name} has {process.VocabSize} tokens; give one shared token per component token.");
            }

            for (int x = 0; x < maps[c].Length; x++)
            {
                if (maps[c][x] < 0)
                {
                    throw new BeliefLensInputException($"components[{c}].vocab_map[{x}]: {maps[c][x]} is negative; shared tokens are numbered from 0.");
                }

                int earlier = Array.IndexOf(maps[c], maps[c][x], 0, x);
                if (earlier >= 0)
                {
                    throw new BeliefLensInputException(
                        $"components[{c}].vocab_map: tokens {earlier} and {x} both map to shared token {maps[c][x]}; a component's tokens must map to distinct shared tokens.");
                }
            }
        }

        if (Math.Abs(weightSum - 1) > 1e-9)
        {
            throw new BeliefLensInputException(
                $"components: the weights sum to {weightSum:R}, not 1; make components[*].weight sum to 1 (or omit every weight for uniform ones).");
        }

        int v = maps.Max(m => m.Max()) + 1;
        var used = new bool[v];
        foreach (int[] map in maps)
        {
            foreach (int token in map)
            {
                used[token] = true;
            }
        }

        int gap = Array.IndexOf(used, false);
        if (gap >= 0)
        {
            throw new BeliefLensInputException(
                $"components[*].vocab_map: shared token {gap} is used by no component, a gap in 0..{v - 1}; number the shared tokens without gaps.");
        }

        int s = components.Sum(c => c.Process.StateCount);
        var kind = components.Any(c => c.Process.Kind == ProcessKind.Ghmm) ? ProcessKind.Ghmm : ProcessKind.Hmm;
        var t = Zeros(v, s);
        var initial = new double[s];
        var tau = new double[s];
        var states = new List<string>();
        var offsets = new int[components.Count];
        var tokenNames = new string?[v];
        int offset = 0;
        for (int c = 0; c < components.Count; c++)
        {
            var (process, weight, _) = components[c];
            offsets[c] = offset;
            int n = process.StateCount;
            for (int x = 0; x < process.VocabSize; x++)
            {
                int shared = maps[c][x];
                tokenNames[shared] ??= process.TokenNames[x];
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        t[shared][offset + i][offset + j] = process.T(x, i, j);
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

        var names = UniqueTokenNames(tokenNames!);
        name ??= "mixture(" + string.Join(",", components.Select(c => $"{c.Weight:R}*{c.Process.Name}")) + ")";
        var mixture = Process.Create(name, kind, t, initial, names, states, kind == ProcessKind.Ghmm ? tau : null);
        var composite = CompositeStructure.ForMixture(
            components.Select(c => c.Process).ToArray(), components.Select(c => c.Weight / weightSum).ToArray(), maps, offsets, null, null);
        mixture = mixture.With(composite: composite);
        return bos ? WithBos(mixture).With(name: name) : mixture;
    }

    // Two shared tokens with one name (each component calls its own token "name") are told apart by their index.
    private static string[] UniqueTokenNames(string[] names)
    {
        var counts = names.GroupBy(n => n, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return names.Select((n, k) => counts[n] > 1 ? $"{n}#{k}" : n).ToArray();
    }

    /// <summary>
    /// For a process built by <see cref="Mixture"/>, the component index of every state (from the "c:" prefix that
    /// Mixture gives state names); null for any other process.
    /// </summary>
    public static int[]? ComponentOfStates(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (process.Composite is { Kind: CompositeKind.Mixture } mixture)
        {
            // The BOS state holds mass only before the BOS token, never in a belief after a token: count it with component 0.
            var owner = new int[process.StateCount];
            for (int c = 0; c < mixture.PartCount; c++)
            {
                owner.AsSpan(mixture.StateOffset(c), mixture.Parts[c].StateCount).Fill(c);
            }

            return mixture.PartCount > 1 ? owner : null;
        }

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

        var withBos = Process.Create(
            process.Name + "+bos",
            process.Kind,
            t,
            initial,
            [.. process.TokenNames, BosName],
            [.. process.StateNames, BosName],
            tau);
        return process.Composite is { } composite ? withBos.With(composite: composite.WithBos(v, s)) : withBos;
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
