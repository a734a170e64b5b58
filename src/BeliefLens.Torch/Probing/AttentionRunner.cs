using BeliefLens.Analysis;
using BeliefLens.Core;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Probing;

/// <summary>One head: its probability-weighted mean pattern [P, P], the decay fit, and its OV output per token.</summary>
public sealed record HeadAttention(int Layer, int Head, double[] MeanPattern, AttentionDecayFit Fit)
{
    /// <summary>
    /// Per token z: W_E[z]·W_V·W_O of this head, in belief coordinates through the exact-belief probe of the layer's
    /// output, centred across tokens with the weights P(z|π) (<see cref="AttentionAnalysis.CentreAcrossTokens"/>).
    /// </summary>
    public required double[][] OvBelief { get; init; }

    /// <summary>Cosine of <see cref="OvBelief"/> with Δz per token (NaN for a token without a shift).</summary>
    public required double[] OvCosine { get; init; }

    /// <summary>The cosine before centring across tokens.</summary>
    public required double[] OvCosineUncentred { get; init; }

    /// <summary>The same through the constrained-belief probe of the layer's output (null when there are no constrained beliefs).</summary>
    public double[]? OvCosineConstrainedProbe { get; init; }

    /// <summary>With LayerNorm: the OV vector of ln1's token-dependent part, (W_E[z] − mean) ⊙ ln1.w, instead of W_E[z]; else null.</summary>
    public double[]? OvCosineThroughLn1 { get; init; }
}

/// <summary>A probe from one site to one kind of target ("constrained" or "exact").</summary>
public sealed record AttentionSiteProbe(string Site, string Target, RegressionMetrics InSample, RegressionMetrics HeldOut, AffineFit Fit);

/// <summary>Everything the attention analysis measured on one model.</summary>
public sealed record AttentionReport(
    ProcessSpectrum Spectrum,
    int ContextLength,
    int Sequences,
    bool Exhaustive,
    IReadOnlyList<HeadAttention> Heads,
    IReadOnlyList<AttentionSiteProbe> Probes)
{
    /// <summary>Per distinct prefix (order of first appearance): the exact beliefs [prefixes, S].</summary>
    public required DenseMatrix ExactBeliefs { get; init; }

    /// <summary>Per distinct prefix: the constrained beliefs, or null when the expansion is undefined.</summary>
    public DenseMatrix? ConstrainedBeliefs { get; init; }

    /// <summary>Per distinct prefix: P(prefix).</summary>
    public required double[] PrefixProbabilities { get; init; }

    /// <summary>Layer 0's output (blocks.0.hook_resid_post) probed to the exact beliefs, per distinct prefix.</summary>
    public required DenseMatrix Layer0ToExact { get; init; }

    /// <summary>Layer 0's output probed to the constrained beliefs, per distinct prefix (null without constrained beliefs).</summary>
    public DenseMatrix? Layer0ToConstrained { get; init; }

    /// <summary>Per distinct prefix: the softmax-normalised constrained beliefs, or null.</summary>
    public DenseMatrix? NormalisedConstrainedBeliefs { get; init; }

    /// <summary>Layer 0's output probed to the softmax-normalised constrained beliefs, per distinct prefix, or null.</summary>
    public DenseMatrix? Layer0ToNormalised { get; init; }
}

/// <summary>
/// The constrained-belief-update analysis of a trained transformer (Piotrowski, Riechers, Filan &amp; Shai 2025): attention
/// by distance from <c>hook_pattern</c>, OV vectors in belief coordinates, and probes from each layer's
/// <c>hook_attn_out</c> and <c>hook_resid_post</c> to the constrained and the exact beliefs. Forward passes only;
/// every number comes from Core (<see cref="ProcessSpectrum"/>) and Analysis.
/// </summary>
public static class AttentionRunner
{
    public const string Constrained = "constrained";
    public const string ConstrainedNormalised = "constrained_normalised";
    public const string Exact = "exact";

    /// <summary>The probe sites: for each layer, hook_attn_out then hook_resid_post.</summary>
    public static IReadOnlyList<string> Sites(TransformerConfig config) =>
        Enumerable.Range(0, config.NLayers).SelectMany(l => new[] { $"blocks.{l}.hook_attn_out", $"blocks.{l}.hook_resid_post" }).ToList();

    public static AttentionReport Run(HookedTransformer model, Process process, ulong seed = 0, long maxSequences = 1 << 20, int chunk = ProbeRunner.DefaultChunk)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(process);
        var config = model.Config;
        if (process.VocabSize != config.DVocab)
        {
            throw new BeliefLensInputException(
                $"process: '{process.Name}' has {process.VocabSize} tokens but the model's d_vocab is {config.DVocab}; analyse with the process the model was trained on.");
        }

        if (config.NCtx < 3)
        {
            throw new BeliefLensInputException($"model.n_ctx: {config.NCtx} is too short; the decay fit needs at least 3 positions.");
        }

        var spectrum = ProcessSpectrum.Of(process);
        int n = config.NCtx, s = process.StateCount;
        var inputs = ProbeInputs.Build(process, n, maxSequences, seed);
        var constrained = spectrum.ExpansionUndefined is null
            ? new DenseMatrix(spectrum.ConstrainedBeliefs(inputs.Tokens, n), inputs.Rows, s)
            : null;
        var normalised = spectrum.ExpansionUndefined is null
            ? new DenseMatrix(spectrum.ConstrainedBeliefs(inputs.Tokens, n, softmaxNormalised: true), inputs.Rows, s)
            : null;
        var firstToken = BeliefMath.NextTokenDistribution(process, spectrum.Stationary);

        var patterns = MeanPatterns(model, inputs, chunk);
        var prefixes = DistinctPrefixes.Of(inputs.PrefixIds);
        var sites = Sites(config);
        var features = ProbeRunner.Activations(model, inputs, sites, Enumerable.Range(0, n).ToArray(), chunk, prefixes);

        var probes = new List<AttentionSiteProbe>();
        var sequenceIds = inputs.SequenceIds();
        var positions = inputs.Positions();
        foreach (string site in sites)
        {
            foreach (var (target, beliefs) in new[] { (Constrained, constrained), (ConstrainedNormalised, normalised), (Exact, (DenseMatrix?)inputs.Beliefs) })
            {
                if (beliefs is null)
                {
                    continue;
                }

                var dataset = new ActivationDataset(features[site], beliefs, sequenceIds, positions, inputs.PrefixIds, inputs.PrefixProbabilities);
                var evaluation = ProbeEvaluator.Evaluate(dataset, ProbeWeighting.Prob, seed);
                probes.Add(new AttentionSiteProbe(site, target, evaluation.InSample, evaluation.HeldOut, evaluation.Fit));
            }
        }

        AffineFit? ProbeOf(string site, string target) => probes.FirstOrDefault(p => p.Site == site && p.Target == target)?.Fit;
        var heads = new List<HeadAttention>();
        var weights = model.StateDictTransformerLens(includeBuffers: false);
        try
        {
            for (int layer = 0; layer < config.NLayers; layer++)
            {
                string output = $"blocks.{layer}.hook_resid_post";
                var ov = OvVectors(weights, config, layer, throughLn1: false);
                var ovLn = config.LayerNorm ? OvVectors(weights, config, layer, throughLn1: true) : null;
                for (int h = 0; h < config.NHeads; h++)
                {
                    var fit = AttentionAnalysis.FitDecay(patterns[layer][h], n);
                    var exactProbe = ProbeOf(output, Exact)!;
                    var constrainedProbe = ProbeOf(output, Constrained);
                    double[][] Map(double[][] vectors, AffineFit probe) => vectors.Select(v => AttentionAnalysis.ToBeliefCoordinates(v, probe)).ToArray();
                    double[][] Centred(double[][] mapped) => AttentionAnalysis.CentreAcrossTokens(mapped, firstToken);
                    var raw = Map(ov[h], exactProbe);
                    var mapped = Centred(raw);
                    heads.Add(new HeadAttention(layer, h, patterns[layer][h], fit)
                    {
                        OvBelief = mapped,
                        OvCosine = Cosines(mapped, spectrum),
                        OvCosineUncentred = Cosines(raw, spectrum),
                        OvCosineConstrainedProbe = constrainedProbe is null ? null : Cosines(Centred(Map(ov[h], constrainedProbe)), spectrum),
                        OvCosineThroughLn1 = ovLn is null ? null : Cosines(Centred(Map(ovLn[h], exactProbe)), spectrum),
                    });
                }
            }
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }

        var layer0 = features["blocks.0.hook_resid_post"];
        return new AttentionReport(spectrum, n, inputs.Sequences, inputs.IsExhaustive, heads, probes)
        {
            ExactBeliefs = inputs.Beliefs.SelectRows(prefixes.FirstRow),
            ConstrainedBeliefs = constrained?.SelectRows(prefixes.FirstRow),
            PrefixProbabilities = Array.ConvertAll(prefixes.FirstRow, r => inputs.PrefixProbabilities[r]),
            Layer0ToExact = ProbeOf("blocks.0.hook_resid_post", Exact)!.Predict(layer0, prefixes.FirstRow),
            Layer0ToConstrained = ProbeOf("blocks.0.hook_resid_post", Constrained)?.Predict(layer0, prefixes.FirstRow),
            NormalisedConstrainedBeliefs = normalised?.SelectRows(prefixes.FirstRow),
            Layer0ToNormalised = ProbeOf("blocks.0.hook_resid_post", ConstrainedNormalised)?.Predict(layer0, prefixes.FirstRow),
        };
    }

    private static double[] Cosines(double[][] mapped, ProcessSpectrum spectrum) =>
        mapped.Select((v, z) => spectrum.Shifts[z] is { } delta ? AttentionAnalysis.Cosine(v, delta) : double.NaN).ToArray();

    /// <summary>
    /// Mean <c>hook_pattern</c> per layer and head, [P·P] row-major (query, key), over the inputs: weighted by sequence
    /// probability when the set is exhaustive, equally when it is a sample from the process.
    /// </summary>
    public static double[][][] MeanPatterns(HookedTransformer model, ProbeInputs inputs, int chunk = ProbeRunner.DefaultChunk)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        var config = model.Config;
        int n = inputs.Length, heads = config.NHeads, layers = config.NLayers;
        var names = Enumerable.Range(0, layers).Select(l => $"blocks.{l}.attn.hook_pattern").ToList();
        var sums = new double[layers][][];
        for (int l = 0; l < layers; l++)
        {
            sums[l] = Enumerable.Range(0, heads).Select(_ => new double[n * n]).ToArray();
        }

        double total = 0;
        for (int start = 0; start < inputs.Sequences; start += chunk)
        {
            int length = Math.Min(chunk, inputs.Sequences - start);
            using var scope = NewDisposeScope();
            var weight = new double[length];
            for (int q = 0; q < length; q++)
            {
                weight[q] = inputs.IsExhaustive ? inputs.PrefixProbabilities[((start + q) * n) + n - 1] : 1.0;
            }

            total += weight.Sum();
            var tokens = tensor(Array.ConvertAll(inputs.Tokens[(start * n)..((start + length) * n)], t => (long)t), [length, n], device: model.Device);
            using var cache = model.CacheActivations(tokens, names);
            var w = tensor(weight, [length, 1, 1, 1], dtype: float64, device: model.Device);
            for (int l = 0; l < layers; l++)
            {
                var weighted = (cache[names[l]].to(float64) * w).sum(dim: 0).cpu().contiguous(); // [H, P, P]
                var values = weighted.data<double>().ToArray();
                for (int h = 0; h < heads; h++)
                {
                    for (int i = 0; i < n * n; i++)
                    {
                        sums[l][h][i] += values[(h * n * n) + i];
                    }
                }
            }
        }

        foreach (var layer in sums)
        {
            foreach (var head in layer)
            {
                for (int i = 0; i < head.Length; i++)
                {
                    head[i] /= total;
                }
            }
        }

        return sums;
    }

    /// <summary>
    /// Per head and token: W_E[z] · W_V[h] · W_O[h] [d_model]. With <paramref name="throughLn1"/>, W_E[z] is first
    /// replaced by the token-dependent part of what ln1 hands the head, (W_E[z] − mean(W_E[z])) ⊙ ln1.w: the centring and
    /// gain are linear, while the division by the row's standard deviation (which also depends on the position) is not.
    /// </summary>
    public static double[][][] OvVectors(IReadOnlyDictionary<string, Tensor> weights, TransformerConfig config, int layer, bool throughLn1)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(config);
        using var scope = NewDisposeScope();
        var embed = weights["embed.W_E"].to(float64); // [V, d]
        if (throughLn1)
        {
            embed = (embed - embed.mean([1L], keepdim: true)) * weights[$"blocks.{layer}.ln1.w"].to(float64);
        }

        var wv = weights[$"blocks.{layer}.attn.W_V"].to(float64); // [H, d, e]
        var wo = weights[$"blocks.{layer}.attn.W_O"].to(float64); // [H, e, d]
        var result = new double[config.NHeads][][];
        for (int h = 0; h < config.NHeads; h++)
        {
            var ov = matmul(matmul(embed, wv[h]), wo[h]).cpu().contiguous(); // [V, d]
            var values = ov.data<double>().ToArray();
            result[h] = Enumerable.Range(0, config.DVocab).Select(z => values.AsSpan(z * config.DModel, config.DModel).ToArray()).ToArray();
        }

        return result;
    }
}
