namespace BeliefLens.Core;

/// <summary>Whether a composite process is a non-ergodic mixture of components or a product of factors.</summary>
public enum CompositeKind
{
    Mixture,
    Product,
}

/// <summary>How the factors of a product depend on each other (see <see cref="ProcessBuilders.Product"/>).</summary>
public enum ProductStructure
{
    /// <summary>Every factor runs on its own: <c>T[x] = ⊗ T_i[x_i]</c>.</summary>
    Independent,

    /// <summary>Factors emit in order; factor i's variant is chosen by factor i−1's token at the same step.</summary>
    Chain,

    /// <summary>Transition coupling on a ring: factor i's next state follows the variant chosen by factor (i−1 mod n)'s token, one map for all.</summary>
    Symmetric,

    /// <summary>Factors emit independently from their own states; factor i's next state follows the variant chosen by the other factors' tokens.</summary>
    TransitionCoupled,
}

/// <summary>
/// The composition of a mixture or product process, kept beside its joint matrices so commands can show both levels:
/// the joint belief, the belief per component or factor, and for a mixture the meta-belief (the mass per component).
/// </summary>
public sealed class CompositeStructure
{
    private readonly int[] _stateOffsets;
    private readonly int[] _factorVocab;
    private readonly int[] _factorStates;

    private CompositeStructure(
        CompositeKind kind,
        IReadOnlyList<Process> parts,
        IReadOnlyList<double> weights,
        IReadOnlyList<int[]> vocabMaps,
        int[] stateOffsets,
        int? bosToken,
        int? bosState,
        ProductStructure structure,
        double noise)
    {
        Kind = kind;
        Parts = parts;
        Weights = weights;
        VocabMaps = vocabMaps;
        _stateOffsets = stateOffsets;
        BosToken = bosToken;
        BosState = bosState;
        Structure = structure;
        Noise = noise;
        _factorVocab = parts.Select(p => p.VocabSize).ToArray();
        _factorStates = parts.Select(p => p.StateCount).ToArray();
    }

    public CompositeKind Kind { get; }

    /// <summary>The components of a mixture, or each factor's first variant of a product.</summary>
    public IReadOnlyList<Process> Parts { get; }

    public int PartCount => Parts.Count;

    /// <summary>"component" or "factor", for labels.</summary>
    public string PartLabel => Kind == CompositeKind.Mixture ? "component" : "factor";

    /// <summary>Mixture weights (sum 1); empty for a product.</summary>
    public IReadOnlyList<double> Weights { get; }

    /// <summary>Mixture: each component's token → shared token; empty for a product.</summary>
    public IReadOnlyList<int[]> VocabMaps { get; }

    /// <summary>The BOS token of a mixture built with one (the last token), else null.</summary>
    public int? BosToken { get; }

    /// <summary>The BOS state (the last state), else null.</summary>
    public int? BosState { get; }

    public ProductStructure Structure { get; }

    /// <summary>Product: probability that the observed joint token is replaced by a uniform one.</summary>
    public double Noise { get; }

    /// <summary>First joint state of component c's block (mixture).</summary>
    public int StateOffset(int component) => _stateOffsets[component];

    internal static CompositeStructure ForMixture(IReadOnlyList<Process> components, double[] weights, int[][] vocabMaps, int[] offsets, int? bosToken, int? bosState) =>
        new(CompositeKind.Mixture, components, weights, vocabMaps, offsets, bosToken, bosState, ProductStructure.Independent, 0);

    internal static CompositeStructure ForProduct(IReadOnlyList<Process> factors, ProductStructure structure, double noise) =>
        new(CompositeKind.Product, factors, [], [], [], null, null, structure, noise);

    internal CompositeStructure WithBos(int bosToken, int bosState) =>
        new(Kind, Parts, Weights, VocabMaps, _stateOffsets, bosToken, bosState, Structure, Noise);

    /// <summary>
    /// Mixture: the posterior mass of each component, <c>Σ_{i∈c} b_i τ_i</c>; mass still on the BOS state (before the BOS
    /// token has been read) is the prior, split by weight.
    /// </summary>
    public double[] MetaBelief(ReadOnlySpan<double> belief, ReadOnlySpan<double> tau)
    {
        if (Kind != CompositeKind.Mixture)
        {
            throw new InvalidOperationException("The meta-belief is defined for mixtures only.");
        }

        var mass = new double[PartCount];
        double bos = BosState is int b ? belief[b] * tau[b] : 0;
        for (int c = 0; c < PartCount; c++)
        {
            int offset = _stateOffsets[c];
            double sum = 0;
            for (int i = 0; i < Parts[c].StateCount; i++)
            {
                sum += belief[offset + i] * tau[offset + i];
            }

            mass[c] = sum + (bos * Weights[c]);
        }

        return mass;
    }

    /// <summary>
    /// The belief over one part's own states: for a mixture, component c's block renormalised (all 0 where the
    /// component has no mass; the component's initial belief while the BOS state holds the mass); for a product, the
    /// marginal of factor f, <c>b_f(s_f) = Σ_{s_−f} b(s) Π_{j≠f} τ_j(s_j)</c>.
    /// </summary>
    public double[] PartBelief(ReadOnlySpan<double> belief, ReadOnlySpan<double> tau, int part)
    {
        if ((uint)part >= (uint)PartCount)
        {
            throw new BeliefLensInputException($"{PartLabel}: {part} is not in 0..{PartCount - 1}.");
        }

        var process = Parts[part];
        var result = new double[process.StateCount];
        if (Kind == CompositeKind.Mixture)
        {
            if (BosState is int b && Math.Abs(belief[b]) > BeliefMath.ZeroProbabilityTolerance)
            {
                return [.. process.InitialBelief];
            }

            int offset = _stateOffsets[part];
            double mass = 0;
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = belief[offset + i];
                mass += belief[offset + i] * tau[offset + i];
            }

            if (Math.Abs(mass) <= BeliefMath.ZeroProbabilityTolerance)
            {
                Array.Clear(result);
                return result;
            }

            for (int i = 0; i < result.Length; i++)
            {
                result[i] /= mass;
            }

            return result;
        }

        int n = PartCount;
        var digits = new int[n];
        int jointStates = _factorStates.Aggregate(1, (a, b) => a * b); // a BOS state, if any, comes after these
        for (int s = 0; s < jointStates; s++)
        {
            Decode(s, _factorStates, digits);
            double weight = belief[s];
            for (int j = 0; j < n; j++)
            {
                if (j != part)
                {
                    weight *= Parts[j].Tau[digits[j]];
                }
            }

            result[digits[part]] += weight;
        }

        return result;
    }

    /// <summary>Product: the factor tokens of a joint token (factor 0 is the most significant digit).</summary>
    public int[] FactorTokens(int jointToken)
    {
        RequireProduct();
        var digits = new int[PartCount];
        Decode(jointToken, _factorVocab, digits);
        return digits;
    }

    /// <summary>Product: the joint token of one token per factor.</summary>
    public int JointToken(ReadOnlySpan<int> factorTokens)
    {
        RequireProduct();
        if (factorTokens.Length != PartCount)
        {
            throw new BeliefLensInputException($"tokens: {factorTokens.Length} factor tokens for {PartCount} factors; give one per factor.");
        }

        return Encode(factorTokens, _factorVocab);
    }

    /// <summary>Mixed-radix decoding, the first digit most significant.</summary>
    internal static void Decode(int value, ReadOnlySpan<int> radix, Span<int> digits)
    {
        for (int k = radix.Length - 1; k >= 0; k--)
        {
            digits[k] = value % radix[k];
            value /= radix[k];
        }
    }

    internal static int Encode(ReadOnlySpan<int> digits, ReadOnlySpan<int> radix)
    {
        int value = 0;
        for (int k = 0; k < radix.Length; k++)
        {
            if ((uint)digits[k] >= (uint)radix[k])
            {
                throw new BeliefLensInputException($"tokens[{k}]: {digits[k]} is not in 0..{radix[k] - 1}.");
            }

            value = (value * radix[k]) + digits[k];
        }

        return value;
    }

    private void RequireProduct()
    {
        if (Kind != CompositeKind.Product)
        {
            throw new InvalidOperationException("Factor tokens are defined for products only.");
        }
    }
}
