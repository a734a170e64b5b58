using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;

namespace BeliefLens.Torch.Probing;

/// <summary>
/// Options of the quantum paper's probe protocol (Riechers, Elliott &amp; Shai 2025, App. F). Valid by construction.
/// </summary>
public sealed record QuantumProbeOptions
{
    public QuantumProbeOptions(int markovOrder = 3, IReadOnlyList<long>? randomInitSeeds = null, int folds = 10, ulong seed = 0,
        int maxPairs = CosineGeometry.DefaultMaxPairs)
    {
        if (markovOrder < 1)
        {
            throw new BeliefLensInputException($"probe.markov_order: {markovOrder} is invalid; use 1 or more (paper: 3).");
        }

        var seeds = (randomInitSeeds ?? DefaultRandomInitSeeds).ToArray();
        if (seeds.Length == 0 || seeds.Any(s => s < 0) || seeds.Distinct().Count() != seeds.Length)
        {
            throw new BeliefLensInputException("probe.random_init_seeds: give at least one distinct seed >= 0 (paper: 10 networks).");
        }

        if (maxPairs < 1)
        {
            throw new BeliefLensInputException($"probe.max_pairs: {maxPairs} is invalid; use 1 or more (paper: 200000).");
        }

        (MarkovOrder, RandomInitSeeds, MaxPairs) = (markovOrder, seeds, maxPairs);
        Regression = new CutoffRegressionOptions(folds: folds, seed: seed);
        Seed = seed;
    }

    /// <summary>Seeds of the random-init control networks: 10 networks, seeds 1000..1009 (never a training seed by default).</summary>
    public static IReadOnlyList<long> DefaultRandomInitSeeds { get; } = Enumerable.Range(1000, 10).Select(i => (long)i).ToArray();

    public int MarkovOrder { get; }

    public IReadOnlyList<long> RandomInitSeeds { get; }

    public int MaxPairs { get; }

    public ulong Seed { get; }

    public CutoffRegressionOptions Regression { get; }
}

/// <summary>A quantum probe's record, the predicted beliefs per site (minimal generator), and its anchors.</summary>
public sealed record QuantumProbeReport(QuantumProbeResult Result, IReadOnlyDictionary<string, DenseMatrix> Predicted, AnchorSet Anchors);

/// <summary>
/// The quantum paper's probe protocol on one network. Anchors: every prefix of length 1..n_ctx with weight P(w)/n_ctx
/// (<see cref="AnchorSet"/>); features: the activation at the prefix's last position at each site (the input/embedding,
/// every layer's output, the final norm for a transformer with one, and the concatenation of the layer outputs);
/// fit: <see cref="CutoffRegression"/> (SVD cutoff by 10-fold CV), onto the minimal generator's beliefs and, with the
/// same features, onto the Markov-order-M approximation's beliefs. Controls: the same probe on networks of the same
/// architecture at random initialisation (normalised RMSE = RMSE / their mean RMSE), and the cosine-similarity R² of
/// the predicted geometry for both targets (<see cref="CosineGeometry"/>).
/// </summary>
public static class QuantumProbe
{
    /// <summary>
    /// The quantum-protocol sites in depth order: the input (transformer: blocks.0.hook_resid_pre, the embedding plus
    /// position; recurrent: hook_input, the one-hot token), every layer's output (blocks.{l}.hook_resid_post /
    /// layers.{l}.hook_hidden), the final norm (transformer with LayerNorm: ln_final.hook_normalized), and concat.
    /// </summary>
    public static IReadOnlyList<string> Sites(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return [.. SequenceModels.DefaultSites(config), ProbeRunner.ConcatSite];
    }

    /// <summary>The layer outputs that the concatenated site joins (n_layers × d_model columns).</summary>
    public static IReadOnlyList<string> LayerSites(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return Enumerable.Range(0, config.NLayers)
            .Select(l => config.IsRecurrent ? RecurrentModel.HiddenHook(l) : $"blocks.{l}.hook_resid_post").ToArray();
    }

    /// <summary>
    /// Probes <paramref name="model"/>; <paramref name="randomInit"/> builds the control network for a seed (same
    /// architecture, random weights). <paramref name="step"/> and the model's architecture are recorded.
    /// </summary>
    public static QuantumProbeReport Run(ISequenceModel model, Process process, QuantumProbeOptions options, Func<long, ISequenceModel> randomInit,
        long step, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(randomInit);
        if (process.VocabSize != model.Config.DVocab)
        {
            throw new BeliefLensInputException(
                $"process: '{process.Name}' has {process.VocabSize} tokens but the model's d_vocab is {model.Config.DVocab}; probe with the process the model was trained on.");
        }

        int nCtx = model.Config.NCtx;
        var anchors = AnchorSet.Create(process, nCtx);
        var markov = MarkovApproximation.Create(process, options.MarkovOrder);
        var markovBeliefs = anchors.BeliefsUnder(markov, out int restarts);
        var inputs = ProbeInputs.Exhaustive(process, nCtx);
        var sites = Sites(model.Config);
        var captured = sites.Where(s => s != ProbeRunner.ConcatSite).ToArray();

        var trained = Features(model, inputs, anchors, captured, LayerSites(model.Config));
        var fits = sites.ToDictionary(site => site, site => CutoffRegression.Fit(trained[site], [anchors.Beliefs, markovBeliefs], anchors.Weights, options.Regression), StringComparer.Ordinal);
        log?.Invoke($"quantum probe: {anchors.Count} anchors, {sites.Count} sites fitted on the trained network; {options.RandomInitSeeds.Count} random-init controls next");

        var random = sites.ToDictionary(site => site, _ => (Belief: new List<double>(), Markov: new List<double>()), StringComparer.Ordinal);
        foreach (long seed in options.RandomInitSeeds)
        {
            using var control = randomInit(seed);
            var features = Features(control, inputs, anchors, captured, LayerSites(model.Config));
            foreach (string site in sites)
            {
                var fit = CutoffRegression.Fit(features[site], [anchors.Beliefs, markovBeliefs], anchors.Weights, options.Regression);
                random[site].Belief.Add(fit[0].Rmse);
                random[site].Markov.Add(fit[1].Rmse);
            }
        }

        var predicted = new Dictionary<string, DenseMatrix>(StringComparer.Ordinal);
        var rows = new List<QuantumSiteResult>();
        foreach (string site in sites)
        {
            var (belief, markovFit) = (fits[site][0], fits[site][1]);
            var prediction = belief.Predict(trained[site]);
            var markovPrediction = markovFit.Predict(trained[site]);
            predicted[site] = prediction;
            double randomRmse = random[site].Belief.Average(), randomMarkov = random[site].Markov.Average();
            rows.Add(new QuantumSiteResult(site, trained[site].Cols, belief.Rmse, belief.HeldOutRmse, belief.Cutoff, belief.Rank,
                randomRmse, belief.Rmse / randomRmse, markovFit.Rmse, markovFit.HeldOutRmse, randomMarkov, markovFit.Rmse / randomMarkov,
                CosineGeometry.RSquared(anchors.Beliefs, prediction, anchors.Weights, options.MaxPairs, options.Seed),
                CosineGeometry.RSquared(markovBeliefs, markovPrediction, anchors.Weights, options.MaxPairs, options.Seed)));
        }

        var result = new QuantumProbeResult(process.Name, model.Config.Architecture, step, nCtx, anchors.Count, options.Regression.Folds, options.Regression.Cutoffs.Count,
            options.MarkovOrder, markov.StateCount, restarts, options.RandomInitSeeds, rows);
        return new QuantumProbeReport(result, predicted, anchors);
    }

    /// <summary>
    /// Per site, the features of every anchor: the activation at the last position of its prefix, read from forward passes
    /// over the full-length sequences (stored once per distinct prefix), plus the concatenation of <paramref name="layers"/>.
    /// </summary>
    private static Dictionary<string, FeatureMatrix> Features(ISequenceModel model, ProbeInputs inputs, AnchorSet anchors, IReadOnlyList<string> sites,
        IReadOnlyList<string> layers)
    {
        var positions = Enumerable.Range(0, inputs.Length).ToArray();
        var prefixes = DistinctPrefixes.Of(inputs.PrefixIds);
        var activations = ProbeRunner.Activations(model, inputs, sites, positions, ProbeRunner.DefaultChunk, prefixes);

        // Exhaustive inputs number prefixes by belief-tree node, and anchor a is node a + 1.
        var prefixOfNode = new Dictionary<long, int>();
        for (int p = 0; p < prefixes.Count; p++)
        {
            prefixOfNode[inputs.PrefixIds[prefixes.FirstRow[p]]] = p;
        }

        var anchorPrefix = Enumerable.Range(0, anchors.Count).Select(a => prefixOfNode[a + 1]).ToArray();
        var anchorRow = anchorPrefix.Select(p => prefixes.FirstRow[p]).ToArray();
        var features = new Dictionary<string, FeatureMatrix>(StringComparer.Ordinal);
        foreach (var (site, matrix) in activations)
        {
            features[site] = matrix.RowIndex is null ? FeatureMatrix.Indexed(matrix, anchorRow) : FeatureMatrix.Indexed(matrix.Stored, anchorPrefix);
        }

        features[ProbeRunner.ConcatSite] = FeatureMatrix.Concatenate(layers.Select(l => features[l]).ToArray());
        return features;
    }
}
