using System.Globalization;
using System.Runtime.InteropServices;
using BeliefLens.Analysis;
using BeliefLens.Core;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Probing;

/// <summary>
/// What to probe and how. Valid by construction: every property validates in its init accessor, so neither the
/// constructor nor a <c>with</c> expression can build an invalid record. Errors name the field as <c>probe.x</c>.
/// </summary>
public sealed record ProbeOptions
{
    public ProbeOptions(
        IReadOnlyList<string>? sites = null, bool concat = false, ProbeWeighting weighting = ProbeWeighting.Paper,
        IReadOnlyList<int>? positions = null, int? roundDecimals = null, long maxSequences = 1 << 20, ulong seed = 0,
        double fitFraction = 0.2, double ridge = 0, double rcond = AffineFitOptions.DefaultRcond, int distancePoints = 1500,
        bool controls = true, int chunk = ProbeRunner.DefaultChunk, bool chooseConcatRegularisation = true)
    {
        Sites = sites;
        Concat = concat;
        Weighting = weighting;
        Positions = positions;
        RoundDecimals = roundDecimals;
        MaxSequences = maxSequences;
        Seed = seed;
        FitFraction = fitFraction;
        Fit = new AffineFitOptions(ridge, rcond);
        DistancePoints = distancePoints;
        Controls = controls;
        Chunk = chunk;
        ChooseConcatRegularisation = chooseConcatRegularisation;
    }

    /// <summary>
    /// For the <c>concat</c> site, choose the held-out fit's ridge/cutoff by validation on the fit sequences
    /// (<see cref="ProbeEvaluator.ChooseRegularisation"/>); in-sample keeps <see cref="Fit"/> (the paper's 1e-6 cutoff).
    /// </summary>
    public bool ChooseConcatRegularisation { get; init; }

    /// <summary>Hook sites, each once; null = the last block's hook_resid_post. Checked against the model when probing.</summary>
    public IReadOnlyList<string>? Sites
    {
        get;
        init => field = value is null ? null
            : value.Count == 0 ? throw Invalid("sites", "[]", "name at least one hook site, e.g. blocks.3.hook_resid_post")
            : value.Distinct(StringComparer.Ordinal).Count() != value.Count ? throw Invalid("sites", string.Join(",", value), "list each site once")
            : value.ToArray();
    }

    /// <summary>Also probe the concatenation of the sites (named <c>concat</c>).</summary>
    public bool Concat { get; init; }

    public ProbeWeighting Weighting
    {
        get;
        init => field = Enum.IsDefined(value) ? value : throw Invalid("weighting", value.ToString(), "use paper or prob");
    }

    /// <summary>Positions j to keep (0-based); null = all. Checked against n_ctx when probing.</summary>
    public IReadOnlyList<int>? Positions
    {
        get;
        init => field = value is null ? null
            : value.Count == 0 || value.Any(p => p < 0) ? throw Invalid("positions", string.Join(",", value), "give 0-based positions such as 0,4,9")
            : value.ToArray();
    }

    /// <summary>Round belief targets to this many decimals (the paper: 5); null = exact.</summary>
    public int? RoundDecimals
    {
        get;
        init => field = value is null or (>= 0 and <= 15) ? value : throw Invalid("round_decimals", value.Value.ToString(CultureInfo.InvariantCulture), "use 0 to 15 decimals, or none");
    }

    public long MaxSequences
    {
        get;
        init => field = value >= 1 ? value : throw Invalid("max_sequences", value.ToString(CultureInfo.InvariantCulture), "must be at least 1");
    }

    public ulong Seed { get; init; }

    public double FitFraction
    {
        get;
        init => field = value is > 0 and < 1 ? value : throw Invalid("fit_fraction", F(value), "must lie strictly between 0 and 1 (the paper fits on 0.2 of the sequences)");
    }

    /// <summary>The affine fit's ridge and cut-off (validated by <see cref="AffineFitOptions"/> itself).</summary>
    public AffineFitOptions Fit { get; init => field = value ?? throw Invalid("fit", "null", "give the fit options"); }

    public int DistancePoints
    {
        get;
        init => field = value >= 2 ? value : throw Invalid("distance_points", value.ToString(CultureInfo.InvariantCulture), "need at least 2 points");
    }

    /// <summary>Seed of the distance analysis's point sample; a report that redraws the analysis samples with it too.</summary>
    public ulong DistanceSeed => Seed ^ 0xD157UL;

    /// <summary>Compute PCA, next-token and distance controls (shuffle is always computed).</summary>
    public bool Controls { get; init; }

    /// <summary>Sequences per forward pass.</summary>
    public int Chunk
    {
        get;
        init => field = value >= 1 ? value : throw Invalid("chunk", value.ToString(CultureInfo.InvariantCulture), "must be at least 1 sequence per forward pass");
    }

    /// <summary>The paper's protocol: paper weighting, targets rounded to 5 decimals.</summary>
    public static ProbeOptions Paper(IReadOnlyList<string>? sites = null, bool concat = false) =>
        new(sites, concat, ProbeWeighting.Paper, roundDecimals: 5);

    private static BeliefLensInputException Invalid(string field, string value, string fix) => new($"probe.{field}: {value} is invalid; {fix}.");

    private static string F(double x) => x.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>
/// One site's probe with its controls. MSEs are averaged over points and belief dimensions. <c>Predicted</c> is the
/// in-sample fit's prediction for each distinct prefix (<see cref="ProbeReport.Prefixes"/>).
/// </summary>
public sealed record SiteProbe(
    string Site,
    int Dims,
    int Rows,
    RegressionMetrics InSample,
    RegressionMetrics HeldOut,
    RegressionMetrics Shuffled,
    RegressionMetrics? NextToken,
    double? UntrainedMse,
    PcaResult? Pca,
    DistanceAnalysis? Distances,
    int EffectiveRank,
    string? Warning,
    DenseMatrix Predicted)
{
    /// <summary>Rows the fits actually used after merging rows of one prefix (null when nothing was merged).</summary>
    public int? MergedRows { get; init; }

    /// <summary>The held-out fit's ridge/cutoff choice when it was made by validation (the concat site), else null.</summary>
    public RegularisationChoice? Regularisation { get; init; }

    /// <summary>The options the held-out fit used.</summary>
    public AffineFitOptions? HeldOutOptions { get; init; }

    /// <summary>The options the in-sample (and shuffle, next-token, untrained) fits used.</summary>
    public AffineFitOptions? InSampleOptions { get; init; }
}

/// <summary>
/// Everything one probe run measured, plus the arrays figures need. Arrays are per distinct prefix among the probed rows
/// (<see cref="Prefixes"/>, in order of first appearance): <see cref="TrueBeliefs"/>, <see cref="PrefixProbabilities"/>
/// and each site's <see cref="SiteProbe.Predicted"/>; <see cref="DistinctPrefixes.Expand(DenseMatrix)"/> repeats them
/// out to one row per (sequence, position).
/// </summary>
public sealed record ProbeReport(
    string Process,
    ProbeWeighting Weighting,
    int Sequences,
    bool Exhaustive,
    int[] Positions,
    DenseMatrix TrueBeliefs,
    double[] PrefixProbabilities,
    IReadOnlyList<SiteProbe> Sites)
{
    /// <summary>The probed rows' distinct prefixes: which prefix each (sequence, kept position) row holds.</summary>
    public required DistinctPrefixes Prefixes { get; init; }

    /// <summary>Per distinct prefix: the row of the probe inputs (sequence·n_ctx + position) where it first appears.</summary>
    public required int[] DistinctInputRows { get; init; }
}

/// <summary>Library entry point: model + process → activation datasets → probes with controls.</summary>
public static class ProbeRunner
{
    public const string ConcatSite = "concat";

    /// <summary>
    /// Sequences per forward pass. A pass holds every block's intermediates until it returns (about 0.2 MB per sequence
    /// of the paper's Mess3 model), so 256 keeps that near 55 MB; on CPU 128–256 were also the fastest (4096: 1.4 GB and
    /// 40% slower). Activations do not depend on the chunk.
    /// </summary>
    public const int DefaultChunk = 256;

    /// <summary>The default site: the last block's residual stream output.</summary>
    public static string DefaultSite(TransformerConfig config) => SequenceModels.DefaultSite(config);

    /// <summary>Residual-stream sites: blocks.0.hook_resid_pre, every blocks.{l}.hook_resid_post, ln_final.hook_normalized.</summary>
    public static IReadOnlyList<string> ResidualSites(TransformerConfig config) => SequenceModels.DefaultSites(config);

    /// <summary>Sites whose activations are [B, P, d_model] (per-head, attention-pattern and MLP-width hooks are not probe sites).</summary>
    public static IReadOnlyList<string> ValidSites(ISequenceModel model) =>
        SequenceModels.ProbeSitesFor(model.Config);

    /// <summary>Checks the process and sites against the model; returns the resolved site list.</summary>
    public static IReadOnlyList<string> ResolveSites(ISequenceModel model, Process process, ProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(options);
        if (process.VocabSize != model.Config.DVocab)
        {
            throw new BeliefLensInputException(
                $"process: '{process.Name}' has {process.VocabSize} tokens but the model's d_vocab is {model.Config.DVocab}; probe with the process the model was trained on.");
        }

        var sites = options.Sites ?? [DefaultSite(model.Config)];
        var valid = ValidSites(model);
        foreach (string site in sites)
        {
            if (!valid.Contains(site))
            {
                throw new BeliefLensInputException($"site '{site}': unknown; valid sites are {string.Join(", ", valid)}.");
            }
        }

        if (sites.Distinct(StringComparer.Ordinal).Count() != sites.Count)
        {
            throw new BeliefLensInputException("sites: a site is listed twice; list each once.");
        }

        if (options.Positions is { } positions && positions.Any(p => p < 0 || p >= model.Config.NCtx))
        {
            throw new BeliefLensInputException($"positions: each must be in 0..{model.Config.NCtx - 1} (n_ctx {model.Config.NCtx}).");
        }

        return sites;
    }

    /// <summary>
    /// Activations of each site at every (sequence, kept position) row, computed by forward passes over the full
    /// sequences in chunks of <paramref name="chunk"/> (each in its own dispose scope) but stored once per distinct prefix
    /// (<paramref name="prefixes"/> of those rows; computed when null): float32 [prefixes, d] read through
    /// <see cref="FeatureMatrix.Indexed"/>, so each result still has one logical row per row. Every later copy of a prefix
    /// is checked to be bitwise equal to the stored one, as a causal model's are; if any is not, the features are kept
    /// row by row instead (and no fit merges rows, since <see cref="ActivationDataset.FeaturesFollowPrefixes"/> is false).
    /// </summary>
    public static Dictionary<string, FeatureMatrix> Activations(ISequenceModel model, ProbeInputs inputs, IReadOnlyList<string> sites, int[] positions,
        int chunk = DefaultChunk, DistinctPrefixes? prefixes = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputs);
        int n = inputs.Length, kept = positions.Length;
        prefixes ??= DistinctPrefixes.Of(KeptRows(inputs, positions).Select(r => inputs.PrefixIds[r]).ToArray());
        if (prefixes.Rows != inputs.Sequences * kept)
        {
            throw new ArgumentException($"prefixes: {prefixes.Rows} rows for {inputs.Sequences} sequences × {kept} positions.", nameof(prefixes));
        }

        var stored = ForwardInChunks(model, inputs, sites, positions, chunk, prefixes);
        if (stored is null)
        {
            var rows = ForwardInChunks(model, inputs, sites, positions, chunk, null)!;
            return rows.ToDictionary(kv => kv.Key, kv => FeatureMatrix.FromSingle(kv.Value, prefixes.Rows, SequenceModels.SiteWidth(model.Config, kv.Key)), StringComparer.Ordinal);
        }

        return stored.ToDictionary(kv => kv.Key,
            kv => FeatureMatrix.Indexed(FeatureMatrix.FromSingle(kv.Value, prefixes.Count, SequenceModels.SiteWidth(model.Config, kv.Key)), prefixes.RowToPrefix), StringComparer.Ordinal);
    }

    /// <summary>Input rows (sequence·n + position) of the kept positions, sequence by sequence.</summary>
    private static IEnumerable<int> KeptRows(ProbeInputs inputs, int[] positions) =>
        Enumerable.Range(0, inputs.Sequences).SelectMany(q => positions.Select(j => (q * inputs.Length) + j));

    /// <summary>
    /// Per site, float32 features per distinct prefix of <paramref name="prefixes"/> (null when a copy of some prefix
    /// differs from its first one), or per row when <paramref name="prefixes"/> is null.
    /// </summary>
    private static Dictionary<string, float[]>? ForwardInChunks(ISequenceModel model, ProbeInputs inputs, IReadOnlyList<string> sites, int[] positions,
        int chunk, DistinctPrefixes? prefixes)
    {
        int count = inputs.Sequences;
        long storedRows = prefixes?.Count ?? (long)count * positions.Length;
        var buffers = sites.ToDictionary(s => s, s => new float[storedRows * SequenceModels.SiteWidth(model.Config, s)], StringComparer.Ordinal);
        using var positionIndex = tensor(positions.Select(p => (long)p).ToArray(), device: model.Device);
        bool consistent = true;
        for (int start = 0; start < count && consistent; start += chunk)
        {
            consistent = ForwardChunk(model, inputs, sites, positions, positionIndex, start, Math.Min(chunk, count - start), prefixes, buffers);
            NativeHeap.AfterChunk();
        }

        NativeHeap.Trim();
        return consistent ? buffers : null;
    }

    /// <summary>One chunk of sequences in its own dispose scope; false when a later copy of a prefix is not bitwise equal to its first.</summary>
    private static bool ForwardChunk(ISequenceModel model, ProbeInputs inputs, IReadOnlyList<string> sites, int[] positions, Tensor positionIndex,
        int start, int length, DistinctPrefixes? prefixes, Dictionary<string, float[]> buffers)
    {
        int n = inputs.Length, kept = positions.Length;
        using var scope = NewDisposeScope();
        var tokens = tensor(Array.ConvertAll(inputs.Tokens[(start * n)..((start + length) * n)], t => (long)t), [length, n], device: model.Device);
        using var cache = model.CacheActivations(tokens, sites.ToList()); // skips blocks after the last requested site
        foreach (string site in sites)
        {
            int d = SequenceModels.SiteWidth(model.Config, site);
            var act = cache[site]; // [B, P, d]
            if (kept != n)
            {
                act = act.index_select(1, positionIndex);
            }

            // The raw bytes in one view: the element-wise TensorAccessor copy is ~100× slower here.
            var values = act.to(float32).cpu().contiguous();
            ReadOnlySpan<float> chunkValues = MemoryMarshal.Cast<byte, float>(values.bytes);
            float[] buffer = buffers[site];
            if (prefixes is null)
            {
                chunkValues.CopyTo(buffer.AsSpan(checked(start * kept * d)));
                continue;
            }

            for (int i = 0, row = start * kept; i < length * kept; i++, row++)
            {
                int prefix = prefixes.RowToPrefix[row];
                var rowValues = chunkValues.Slice(i * d, d);
                var slot = buffer.AsSpan(prefix * d, d);
                if (prefixes.FirstRow[prefix] == row)
                {
                    rowValues.CopyTo(slot);
                }
                else if (!MemoryMarshal.AsBytes(rowValues).SequenceEqual(MemoryMarshal.AsBytes((ReadOnlySpan<float>)slot)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Row-wise concatenation of several sites' features, in the given order, sharing their storage (<see cref="FeatureMatrix.Concatenate"/>).</summary>
    public static FeatureMatrix Concatenate(IReadOnlyList<FeatureMatrix> parts) => FeatureMatrix.Concatenate(parts);

    /// <summary>
    /// Probes <paramref name="model"/> on <paramref name="process"/>: the paper's protocol (fit on all rows, in-sample;
    /// fit on a seeded fraction of sequences, held-out on the rest), with the shuffled-target control, next-token probe,
    /// PCA, the distance analysis, and — when <paramref name="untrained"/> is given — the same probe on that model.
    /// </summary>
    public static ProbeReport Run(ISequenceModel model, Process process, ProbeOptions options, ISequenceModel? untrained = null, ProbeInputs? inputs = null)
    {
        var sites = ResolveSites(model, process, options);
        inputs ??= ProbeInputs.Build(process, model.Config.NCtx, options.MaxSequences, options.Seed);
        if (inputs.Length != model.Config.NCtx || inputs.Process.VocabSize != model.Config.DVocab)
        {
            throw new BeliefLensInputException($"inputs: built for length {inputs.Length}; the model needs n_ctx {model.Config.NCtx}.");
        }

        int n = inputs.Length;
        int[] positions = (options.Positions ?? Enumerable.Range(0, n).ToArray()).Distinct().Order().ToArray();
        int[]? rowMap = positions.Length == n ? null : KeptRows(inputs, positions).ToArray(); // null: every row, no copies
        DenseMatrix Kept(DenseMatrix m) => rowMap is null ? m : m.SelectRows(rowMap);
        var beliefs = Kept(inputs.TargetBeliefs(options.RoundDecimals));
        var nextToken = Kept(inputs.NextToken);
        var sequenceIds = rowMap?.Select(r => r / n).ToArray() ?? inputs.SequenceIds();
        var rowPositions = rowMap?.Select(r => r % n).ToArray() ?? inputs.Positions();
        var prefixIds = rowMap?.Select(r => inputs.PrefixIds[r]).ToArray() ?? inputs.PrefixIds;
        var probabilities = rowMap?.Select(r => inputs.PrefixProbabilities[r]).ToArray() ?? inputs.PrefixProbabilities;
        var prefixes = DistinctPrefixes.Of(prefixIds);
        int[] distinctInputRows = rowMap is null ? prefixes.FirstRow : Array.ConvertAll(prefixes.FirstRow, r => rowMap[r]);

        var features = Activations(model, inputs, sites, positions, options.Chunk, prefixes);
        var untrainedFeatures = untrained is null ? null : Activations(untrained, inputs, sites, positions, options.Chunk, prefixes);
        var order = new List<string>(sites);
        if (options.Concat)
        {
            features[ConcatSite] = Concatenate(sites.Select(s => features[s]).ToList());
            if (untrainedFeatures is not null)
            {
                untrainedFeatures[ConcatSite] = Concatenate(sites.Select(s => untrainedFeatures[s]).ToList());
            }

            order.Add(ConcatSite);
        }

        var results = new List<SiteProbe>();
        foreach (string site in order)
        {
            var dataset = new ActivationDataset(features[site], beliefs, sequenceIds, rowPositions, prefixIds, probabilities);
            results.Add(ProbeSite(site, dataset, nextToken, untrainedFeatures?[site], options, prefixes));
        }

        return new ProbeReport(process.Name, options.Weighting, inputs.Sequences, inputs.IsExhaustive, positions,
            inputs.Beliefs.SelectRows(distinctInputRows), Array.ConvertAll(distinctInputRows, r => inputs.PrefixProbabilities[r]), results)
        {
            Prefixes = prefixes,
            DistinctInputRows = distinctInputRows,
        };
    }

    private static SiteProbe ProbeSite(string site, ActivationDataset dataset, DenseMatrix nextToken, FeatureMatrix? untrained, ProbeOptions options,
        DistinctPrefixes prefixes)
    {
        var evaluation = ProbeEvaluator.Evaluate(dataset, options.Weighting, options.Seed, options.FitFraction, options.Fit,
            chooseRegularisation: site == ConcatSite && options.ChooseConcatRegularisation);
        var sample = dataset.Sample(options.Weighting);
        var predicted = evaluation.Fit.Predict(dataset.Features, prefixes.FirstRow); // one row per distinct prefix
        var merged = dataset.Collapse(sample.Rows, sample.Weights);
        RegressionMetrics? next = null;
        PcaResult? pca = null;
        DistanceAnalysis? distances = null;
        double? untrainedMse = null;
        if (options.Controls)
        {
            var nextFit = ProbeEvaluator.Fit(dataset, nextToken, sample.Weights, sample.Rows, options.Fit);
            next = RegressionMetrics.Score(nextFit, dataset.Features, nextToken, sample.Weights, sample.Rows);

            // The weighted covariance is a sum over rows, so rows of one prefix may be merged (summed weight) here too.
            pca = merged is null
                ? ProbeControls.Pca(dataset.Features, sample.Weights, sample.Rows)
                : ProbeControls.Pca(dataset.Features, merged.Weights, merged.Rows);

            // Distances among distinct prefixes only (duplicates would add zero-distance pairs).
            distances = DistanceAnalysis.Compute(predicted, dataset.Targets.SelectRows(prefixes.FirstRow), nextToken.SelectRows(prefixes.FirstRow),
                options.DistancePoints, options.DistanceSeed);
        }

        if (untrained is not null)
        {
            var fit = ProbeEvaluator.Fit(dataset.WithFeatures(untrained), dataset.Targets, sample.Weights, sample.Rows, options.Fit);
            untrainedMse = RegressionMetrics.Score(fit, untrained, dataset.Targets, sample.Weights, sample.Rows).Mse;
        }

        return new SiteProbe(site, dataset.Features.Cols, sample.Rows.Length, evaluation.InSample, evaluation.HeldOut, evaluation.Shuffled,
            next, untrainedMse, pca, distances, evaluation.Fit.EffectiveRank, evaluation.Warning, predicted)
        {
            MergedRows = merged?.Rows.Length,
            Regularisation = evaluation.Regularisation,
            HeldOutOptions = evaluation.HeldOutOptions,
            InSampleOptions = options.Fit,
        };
    }

    /// <summary>Formats a number for messages.</summary>
    internal static string F(double x) => x.ToString("G5", CultureInfo.InvariantCulture);
}
