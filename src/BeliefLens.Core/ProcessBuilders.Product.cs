namespace BeliefLens.Core;

/// <summary>One factor of a product: its variants (one for an independent factor), all with the same tokens and states.</summary>
public sealed record ProductFactor(IReadOnlyList<Process> Variants)
{
    public ProductFactor(Process process)
        : this([process])
    {
    }
}

public static partial class ProcessBuilders
{
    /// <summary>The most joint tokens a product may have unless the caller raises the limit (<c>max_joint_tokens</c>).</summary>
    public const long DefaultMaxJointTokens = 1L << 20;

    /// <summary>The largest dense joint <c>V·S·S</c> a product may have (2 GB of float64).</summary>
    public const long MaxDenseEntries = 1L << 28;

    /// <summary>
    /// The product of factor processes. The joint token and the joint state are the mixed-radix encodings of the
    /// factors' tokens and states, factor 0 the most significant digit. The structure decides which variant of each
    /// factor moves at a step (<paramref name="controlMap"/> lists variant indices):
    /// <list type="bullet">
    /// <item><c>Independent</c>: <c>T[x] = ⊗_i T_i[x_i]</c>; one variant per factor, no control map.</item>
    /// <item><c>Chain</c>: factors emit in order and factor i uses variant <c>controlMap[i−1][x_{i−1}]</c> (n−1 maps, map
    /// i−1 with one entry per token of factor i−1; default: the token itself, or variant 0 for a one-variant factor).</item>
    /// <item><c>TransitionCoupled</c>: every factor emits from its own state; factor i moves with variant
    /// <c>controlMap[i][x_{−i}]</c>, x_{−i} the radix encoding of the other factors' tokens (n maps). A factor's
    /// variants must agree on the emission probabilities <c>T[x]τ</c>, so each factor's tokens stay its own.</item>
    /// <item><c>Symmetric</c>: transition coupling on a ring with one rule for all: factor i moves with variant
    /// <c>controlMap[0][x_{(i−1) mod n}]</c> (one map; every factor has the same tokens and variant count).</item>
    /// </list>
    /// With <paramref name="noise"/> ε the observed joint token is replaced by a uniform one with probability ε while
    /// the factors move on the token they emitted: exactly the HMM <c>T'[x] = (1−ε) T[x] + (ε/V) Σ_y T[y]</c> on the same
    /// states (a GHMM stays one: Σ_x T'[x] = Σ_y T[y] keeps τ). Variants of a factor must share its τ; the joint τ is
    /// <c>⊗ τ_i</c>. Errors name the field as the JSON spec spells it.
    /// </summary>
    public static Process Product(
        IReadOnlyList<ProductFactor> factors,
        ProductStructure structure = ProductStructure.Independent,
        IReadOnlyList<IReadOnlyList<int>>? controlMap = null,
        double noise = 0,
        long maxJointTokens = DefaultMaxJointTokens,
        string? name = null)
    {
        ArgumentNullException.ThrowIfNull(factors);
        if (factors.Count == 0)
        {
            throw new BeliefLensInputException("factors: needs at least one factor process.");
        }

        if (!(noise >= 0 && noise <= 1))
        {
            throw new BeliefLensInputException($"noise: {noise} is outside [0, 1]; give the probability that a joint token is replaced by a uniform one.");
        }

        int n = factors.Count;
        var vocab = new int[n];
        var states = new int[n];
        for (int i = 0; i < n; i++)
        {
            var variants = factors[i].Variants;
            if (variants is null || variants.Count == 0)
            {
                throw new BeliefLensInputException($"factors[{i}].variants: needs at least one process.");
            }

            vocab[i] = variants[0].VocabSize;
            states[i] = variants[0].StateCount;
            for (int k = 1; k < variants.Count; k++)
            {
                if (variants[k].VocabSize != vocab[i] || variants[k].StateCount != states[i])
                {
                    throw new BeliefLensInputException(
                        $"factors[{i}].variants[{k}]: has {variants[k].VocabSize} tokens and {variants[k].StateCount} states but variant 0 has {vocab[i]} and {states[i]}; a factor's variants must match.");
                }

                for (int s = 0; s < states[i]; s++)
                {
                    if (Math.Abs(variants[k].Tau[s] - variants[0].Tau[s]) > 1e-9)
                    {
                        throw new BeliefLensInputException($"factors[{i}].variants[{k}]: its τ differs from variant 0's; a factor's variants must share τ.");
                    }
                }
            }

            if (structure == ProductStructure.Independent && variants.Count > 1)
            {
                throw new BeliefLensInputException(
                    $"factors[{i}].variants: an independent product uses one process per factor; use structure \"chain\", \"symmetric\" or \"transition_coupled\" to switch variants.");
            }
        }

        long jointTokens = 1, jointStates = 1;
        for (int i = 0; i < n; i++)
        {
            jointTokens *= vocab[i];
            jointStates *= states[i];
            if (jointTokens > maxJointTokens)
            {
                throw new BeliefLensInputException(
                    $"factors: the product has more than {maxJointTokens:N0} joint tokens ({string.Join("×", vocab)}); set \"max_joint_tokens\" higher to allow it, or use fewer factors.");
            }
        }

        if (jointTokens * jointStates * jointStates > MaxDenseEntries)
        {
            throw new BeliefLensInputException(
                $"factors: the product's {jointTokens:N0} joint tokens × {jointStates:N0}² joint states exceed {MaxDenseEntries:N0} matrix entries; use fewer or smaller factors.");
        }

        var map = ControlMap(factors, structure, controlMap, vocab);
        if (structure is ProductStructure.TransitionCoupled or ProductStructure.Symmetric)
        {
            CheckSharedEmissions(factors);
        }

        int v = (int)jointTokens, size = (int)jointStates;
        var kind = factors.SelectMany(f => f.Variants).Any(p => p.Kind == ProcessKind.Ghmm) ? ProcessKind.Ghmm : ProcessKind.Hmm;
        var t = Zeros(v, size);
        var digits = new int[n];
        var others = new int[n - 1];
        var otherRadix = new int[n - 1];
        var chosen = new Process[n];
        var buffer = new double[size * size];
        for (int x = 0; x < v; x++)
        {
            CompositeStructure.Decode(x, vocab, digits);
            for (int i = 0; i < n; i++)
            {
                int variant = structure switch
                {
                    ProductStructure.Independent => 0,
                    ProductStructure.Chain => i == 0 ? 0 : map[i - 1][digits[i - 1]],
                    ProductStructure.Symmetric => map[0][digits[(i - 1 + n) % n]],
                    _ => map[i][OtherFactorsToken(digits, vocab, i, others, otherRadix)],
                };
                chosen[i] = factors[i].Variants[variant];
            }

            Kronecker(chosen, digits, states, buffer);
            for (int a = 0; a < size; a++)
            {
                Array.Copy(buffer, a * size, t[x][a], 0, size);
            }
        }

        if (noise > 0)
        {
            var total = new double[size * size];
            for (int x = 0; x < v; x++)
            {
                for (int a = 0; a < size; a++)
                {
                    for (int b = 0; b < size; b++)
                    {
                        total[(a * size) + b] += t[x][a][b];
                    }
                }
            }

            for (int x = 0; x < v; x++)
            {
                for (int a = 0; a < size; a++)
                {
                    for (int b = 0; b < size; b++)
                    {
                        t[x][a][b] = ((1 - noise) * t[x][a][b]) + (noise / v * total[(a * size) + b]);
                    }
                }
            }
        }

        var bases = factors.Select(f => f.Variants[0]).ToArray();
        double[] tau = KroneckerVectors(bases.Select(p => p.Tau).ToArray());
        double[]? initial = structure == ProductStructure.Independent ? KroneckerVectors(bases.Select(p => p.InitialBelief).ToArray()) : null;
        var tokenNames = Enumerable.Range(0, v).Select(x =>
        {
            CompositeStructure.Decode(x, vocab, digits);
            return string.Join("|", digits.Select((d, i) => bases[i].TokenNames[d]));
        }).ToArray();
        var stateNames = Enumerable.Range(0, size).Select(s =>
        {
            CompositeStructure.Decode(s, states, digits);
            return string.Join("|", digits.Select((d, i) => bases[i].StateNames[d]));
        }).ToArray();
        string label = name ?? "product(" + string.Join(",", bases.Select(p => p.Name)) + ")";
        string why = structure == ProductStructure.Independent
            ? string.Empty
            : " (with a control map the joint stationary distribution may not be unique; give the factors full support)";
        Process product;
        try
        {
            product = Process.Create(label, kind, t, initial, tokenNames, stateNames, kind == ProcessKind.Ghmm ? tau : null);
        }
        catch (BeliefLensInputException ex) when (ex.Message.StartsWith("initial:", StringComparison.Ordinal))
        {
            throw new BeliefLensInputException($"factors: the joint process has no unique start state: {ex.Message}{why}");
        }

        return product.With(composite: CompositeStructure.ForProduct(bases, structure, noise));
    }

    private static int[][] ControlMap(IReadOnlyList<ProductFactor> factors, ProductStructure structure, IReadOnlyList<IReadOnlyList<int>>? given, int[] vocab)
    {
        int n = factors.Count;
        if (structure == ProductStructure.Independent)
        {
            if (given is not null)
            {
                throw new BeliefLensInputException("control_map: an independent product has no control map; remove it or pick structure \"chain\", \"symmetric\" or \"transition_coupled\".");
            }

            return [];
        }

        // Expected shape: one map per controlled factor, one entry per value of its control token.
        (int Factor, int Length)[] shape = structure switch
        {
            ProductStructure.Chain => Enumerable.Range(1, n - 1).Select(i => (i, vocab[i - 1])).ToArray(),
            ProductStructure.Symmetric => [(0, vocab[0])],
            _ => Enumerable.Range(0, n).Select(i => (i, (int)Enumerable.Range(0, n).Where(j => j != i).Aggregate(1L, (a, j) => a * vocab[j]))).ToArray(),
        };
        string rule = structure switch
        {
            ProductStructure.Chain => "one map per factor after the first, with one variant index per token of the factor before it",
            ProductStructure.Symmetric => "one map with one variant index per token",
            _ => "one map per factor, with one variant index per joint token of the other factors",
        };
        if (structure == ProductStructure.Symmetric)
        {
            for (int i = 1; i < n; i++)
            {
                if (vocab[i] != vocab[0] || factors[i].Variants.Count != factors[0].Variants.Count)
                {
                    throw new BeliefLensInputException(
                        $"factors[{i}]: a symmetric product needs every factor to have factor 0's {vocab[0]} tokens and {factors[0].Variants.Count} variants.");
                }
            }
        }

        if (given is null)
        {
            // Default: the control token is the variant index (or variant 0 for a factor with one variant).
            return shape.Select(s =>
            {
                int variants = factors[s.Factor].Variants.Count;
                if (variants != 1 && variants != s.Length)
                {
                    throw new BeliefLensInputException($"control_map: is required for factor {s.Factor}'s {variants} variants; give {rule}.");
                }

                return Enumerable.Range(0, s.Length).Select(k => variants == 1 ? 0 : k).ToArray();
            }).ToArray();
        }

        if (given.Count != shape.Length)
        {
            throw new BeliefLensInputException($"control_map: has {given.Count} maps but this {StructureName(structure)} product of {n} factors needs {shape.Length}: {rule}.");
        }

        var result = new int[shape.Length][];
        for (int m = 0; m < shape.Length; m++)
        {
            var entry = given[m];
            if (entry is null || entry.Count != shape[m].Length)
            {
                throw new BeliefLensInputException($"control_map[{m}]: has {entry?.Count ?? 0} entries but needs {shape[m].Length}: {rule}.");
            }

            int variants = factors[shape[m].Factor].Variants.Count;
            for (int k = 0; k < entry.Count; k++)
            {
                if ((uint)entry[k] >= (uint)variants)
                {
                    throw new BeliefLensInputException(
                        $"control_map[{m}][{k}]: {entry[k]} is not a variant of factor {shape[m].Factor} (it has {variants}: 0..{variants - 1}).");
                }
            }

            result[m] = [.. entry];
        }

        return result;
    }

    /// <summary>The name the JSON spec uses for a structure.</summary>
    public static string StructureName(ProductStructure structure) => structure switch
    {
        ProductStructure.Independent => "independent",
        ProductStructure.Chain => "chain",
        ProductStructure.Symmetric => "symmetric",
        _ => "transition_coupled",
    };

    // Under transition coupling a factor's variants may differ only in where they move, not in what they emit.
    private static void CheckSharedEmissions(IReadOnlyList<ProductFactor> factors)
    {
        for (int i = 0; i < factors.Count; i++)
        {
            var first = factors[i].Variants[0];
            for (int k = 1; k < factors[i].Variants.Count; k++)
            {
                var variant = factors[i].Variants[k];
                for (int x = 0; x < first.VocabSize; x++)
                {
                    for (int s = 0; s < first.StateCount; s++)
                    {
                        if (Math.Abs(EmissionWeight(first, x, s) - EmissionWeight(variant, x, s)) > 1e-9)
                        {
                            throw new BeliefLensInputException(
                                $"factors[{i}].variants[{k}]: emits token {x} from state {s} with another probability than variant 0; transition-coupled variants may differ only in their transitions.");
                        }
                    }
                }
            }
        }
    }

    private static double EmissionWeight(Process process, int token, int state)
    {
        double sum = 0;
        for (int j = 0; j < process.StateCount; j++)
        {
            sum += process.T(token, state, j) * process.Tau[j];
        }

        return sum;
    }

    private static int OtherFactorsToken(int[] digits, int[] vocab, int skip, int[] others, int[] radix)
    {
        int k = 0;
        for (int j = 0; j < digits.Length; j++)
        {
            if (j != skip)
            {
                others[k] = digits[j];
                radix[k] = vocab[j];
                k++;
            }
        }

        return CompositeStructure.Encode(others, radix);
    }

    // buffer[a][b] = Π_i T_i[x_i][a_i][b_i] over the radix-encoded joint states a, b.
    private static void Kronecker(Process[] chosen, int[] tokens, int[] states, double[] buffer)
    {
        int size = 1;
        buffer[0] = 1;
        var scratch = new double[buffer.Length];
        for (int i = 0; i < chosen.Length; i++)
        {
            int m = states[i];
            int next = size * m;
            for (int a = 0; a < size; a++)
            {
                for (int b = 0; b < size; b++)
                {
                    double outer = buffer[(a * size) + b];
                    for (int p = 0; p < m; p++)
                    {
                        for (int q = 0; q < m; q++)
                        {
                            scratch[(((a * m) + p) * next) + (b * m) + q] = outer * chosen[i].T(tokens[i], p, q);
                        }
                    }
                }
            }

            size = next;
            Array.Copy(scratch, buffer, size * size);
        }
    }

    private static double[] KroneckerVectors(double[][] vectors)
    {
        double[] result = [1.0];
        foreach (var vector in vectors)
        {
            var next = new double[result.Length * vector.Length];
            for (int a = 0; a < result.Length; a++)
            {
                for (int p = 0; p < vector.Length; p++)
                {
                    next[(a * vector.Length) + p] = result[a] * vector[p];
                }
            }

            result = next;
        }

        return result;
    }
}
