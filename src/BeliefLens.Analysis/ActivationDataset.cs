using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>How rows count in a probe fit and its metrics.</summary>
public enum ProbeWeighting
{
    /// <summary>Every input sequence × position counts once, unweighted (the paper's protocol).</summary>
    Paper,

    /// <summary>Each distinct prefix counts once, weighted by P(prefix); duplicates are dropped, never counted × probability.</summary>
    Prob,
}

/// <summary>
/// Activations at one site with one row per (sequence, position): features, the target belief after tokens 0..j,
/// the sequence id, position j, a prefix id equal for rows whose tokens 0..j are equal, and P(prefix).
/// </summary>
public sealed class ActivationDataset
{
    public ActivationDataset(FeatureMatrix features, DenseMatrix targets, int[] sequenceIds, int[] positions, long[] prefixIds, double[] prefixProbabilities)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        int n = features.Rows;
        Check(targets.Rows, n, "targets");
        Check(sequenceIds?.Length ?? -1, n, "sequence_ids");
        Check(positions?.Length ?? -1, n, "positions");
        Check(prefixIds?.Length ?? -1, n, "prefix_ids");
        Check(prefixProbabilities?.Length ?? -1, n, "prefix_probabilities");
        for (int i = 0; i < n; i++)
        {
            double p = prefixProbabilities![i];
            if (!double.IsFinite(p) || p < 0 || p > 1)
            {
                throw new BeliefLensInputException($"prefix_probabilities[{i}]: {p.ToString(CultureInfo.InvariantCulture)} is not a probability in [0, 1].");
            }
        }

        (Features, Targets, SequenceIds, Positions, PrefixIds, PrefixProbabilities) =
            (features, targets, sequenceIds!, positions!, prefixIds!, prefixProbabilities!);
    }

    public FeatureMatrix Features { get; }

    public DenseMatrix Targets { get; }

    public int[] SequenceIds { get; }

    public int[] Positions { get; }

    public long[] PrefixIds { get; }

    public double[] PrefixProbabilities { get; }

    public int Rows => Features.Rows;

    /// <summary>The same rows and bookkeeping with other targets (e.g. next-token distributions for the control probe).</summary>
    public ActivationDataset WithTargets(DenseMatrix targets) =>
        new(Features, targets, SequenceIds, Positions, PrefixIds, PrefixProbabilities);

    /// <summary>The same rows with other features (e.g. another site, or the step-0 model).</summary>
    public ActivationDataset WithFeatures(FeatureMatrix features) =>
        new(features, Targets, SequenceIds, Positions, PrefixIds, PrefixProbabilities);

    /// <summary>
    /// The rows and weights a weighting mode uses. Paper: all rows, weights null (1 each).
    /// Prob: the first row (in dataset order) of each distinct prefix id, weight = its P(prefix); other rows of the same
    /// prefix are dropped. For a causal model they carry identical activations and targets, so nothing is lost.
    /// </summary>
    public ProbeSample Sample(ProbeWeighting weighting)
    {
        if (weighting == ProbeWeighting.Paper)
        {
            return new ProbeSample(Enumerable.Range(0, Rows).ToArray(), null);
        }

        var seen = new HashSet<long>();
        var kept = new List<int>();
        for (int r = 0; r < Rows; r++)
        {
            if (seen.Add(PrefixIds[r]))
            {
                kept.Add(r);
            }
        }

        return new ProbeSample(kept.ToArray(), PrefixProbabilities);
    }

    private bool? _featuresFollowPrefixes;

    /// <summary>
    /// True when every row's features are bitwise identical to those of the first row with its prefix id, as a causal
    /// model's activations are. Only then may rows of one prefix be merged (<see cref="Collapse"/>). Computed once.
    /// </summary>
    public bool FeaturesFollowPrefixes => _featuresFollowPrefixes ??= CheckFeaturesFollowPrefixes();

    /// <summary>
    /// Merges <paramref name="rows"/> (weights indexed by dataset row, null = 1 each) that share a prefix id into one row
    /// per prefix with the summed weight; the weighted least-squares fit is unchanged (see <see cref="CollapsedRows"/>).
    /// Null when the features do not follow the prefixes or no two rows share a prefix.
    /// </summary>
    public CollapsedRows? Collapse(int[] rows, double[]? weights)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (!FeaturesFollowPrefixes)
        {
            return null;
        }

        var groupOf = new Dictionary<long, int>();
        var representatives = new List<int>();
        var groupOfRow = new int[rows.Length];
        var merged = new double[Rows];
        for (int i = 0; i < rows.Length; i++)
        {
            int row = rows[i];
            if (!groupOf.TryGetValue(PrefixIds[row], out int group))
            {
                group = representatives.Count;
                groupOf.Add(PrefixIds[row], group);
                representatives.Add(row);
            }

            groupOfRow[i] = group;
            merged[representatives[group]] += weights?[row] ?? 1.0;
        }

        return representatives.Count == rows.Length ? null : new CollapsedRows(representatives.ToArray(), merged, rows, weights, groupOfRow);
    }

    private bool CheckFeaturesFollowPrefixes()
    {
        var first = new Dictionary<long, int>();
        for (int r = 0; r < Rows; r++)
        {
            if (!first.TryAdd(PrefixIds[r], r) && !Features.RowsIdentical(first[PrefixIds[r]], r))
            {
                return false;
            }
        }

        return true;
    }

    private static void Check(int length, int rows, string field)
    {
        if (length != rows)
        {
            throw new BeliefLensInputException($"{field}: {(length < 0 ? "missing" : length + " values")} but features have {rows} rows; give one value per activation row.");
        }
    }
}

/// <summary>Selected dataset rows and optional weights (indexed by dataset row, not by position in Rows).</summary>
public sealed record ProbeSample(int[] Rows, double[]? Weights);

/// <summary>A train/test partition of dataset rows.</summary>
public sealed record ProbeSplit(int[] FitRows, int[] TestRows);

/// <summary>Canonical prefix ids and sequence-level splits.</summary>
public static class ProbeSplits
{
    /// <summary>
    /// Assigns prefix ids to every (sequence, position) of equal-length token sequences: a trie over tokens 0..j,
    /// numbered densely in order of first appearance. Equal prefixes get equal ids; no overflow for any length.
    /// Returns ids[s][j].
    /// </summary>
    public static long[][] PrefixIds(IReadOnlyList<int[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var children = new Dictionary<(long Parent, int Token), long>();
        var result = new long[sequences.Count][];
        for (int s = 0; s < sequences.Count; s++)
        {
            int[] tokens = sequences[s];
            result[s] = new long[tokens.Length];
            long parent = -1; // the empty prefix
            for (int j = 0; j < tokens.Length; j++)
            {
                if (!children.TryGetValue((parent, tokens[j]), out long id))
                {
                    id = children.Count;
                    children.Add((parent, tokens[j]), id);
                }

                result[s][j] = id;
                parent = id;
            }
        }

        return result;
    }

    /// <summary>
    /// Held-out split by sequence (never by row): a seeded permutation of the distinct sequence ids among
    /// <paramref name="sample"/>'s rows; the first round(fitFraction × count) sequences (at least one, and at least one
    /// left over when there are two or more) are fitted, the rest scored. A row goes wherever its sequence goes.
    /// Under prob weighting the sample keeps one row per prefix (its first occurrence), so a prefix shared by fit and
    /// test sequences belongs to the side of the sequence that owns that first row, and is scored on one side only.
    /// </summary>
    public static ProbeSplit BySequence(ActivationDataset dataset, ProbeSample sample, double fitFraction = 0.2, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(sample);
        if (!(fitFraction > 0 && fitFraction < 1))
        {
            throw new BeliefLensInputException($"fit_fraction: {fitFraction.ToString(CultureInfo.InvariantCulture)} must be in (0, 1), e.g. 0.2 as in the paper.");
        }

        int[] order = ShuffledSequences(dataset, sample, seed);
        int fitCount = (int)Math.Round(fitFraction * order.Length, MidpointRounding.AwayFromZero);
        fitCount = Math.Clamp(fitCount, 1, Math.Max(1, order.Length - 1));
        var fitSequences = order.Take(fitCount).ToHashSet();
        var fit = sample.Rows.Where(r => fitSequences.Contains(dataset.SequenceIds[r])).ToArray();
        var test = sample.Rows.Where(r => !fitSequences.Contains(dataset.SequenceIds[r])).ToArray();
        return new ProbeSplit(fit, test);
    }

    /// <summary>K folds by sequence: seeded permutation of sequence ids, sequence at permuted position i goes to fold i mod k. Fold f tests on its own rows and fits on the rest.</summary>
    public static IReadOnlyList<ProbeSplit> KFoldBySequence(ActivationDataset dataset, ProbeSample sample, int folds, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(sample);
        int[] order = ShuffledSequences(dataset, sample, seed);
        if (folds < 2 || folds > order.Length)
        {
            throw new BeliefLensInputException($"folds: {folds} is invalid; need 2..{order.Length} (the number of sequences).");
        }

        var foldOf = new Dictionary<int, int>();
        for (int i = 0; i < order.Length; i++)
        {
            foldOf[order[i]] = i % folds;
        }

        var splits = new List<ProbeSplit>();
        for (int f = 0; f < folds; f++)
        {
            var test = sample.Rows.Where(r => foldOf[dataset.SequenceIds[r]] == f).ToArray();
            var fit = sample.Rows.Where(r => foldOf[dataset.SequenceIds[r]] != f).ToArray();
            splits.Add(new ProbeSplit(fit, test));
        }

        return splits;
    }

    /// <summary>A seeded Fisher–Yates permutation of 0..count−1 with the project's generator.</summary>
    internal static int[] Permutation(int count, ulong seed)
    {
        var order = Enumerable.Range(0, count).ToArray();
        var rng = new Rng(seed);
        for (int i = count - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }

        return order;
    }

    /// <summary>Distinct sequence ids of the sample, sorted, then permuted: the order depends only on the set of ids and the seed.</summary>
    private static int[] ShuffledSequences(ActivationDataset dataset, ProbeSample sample, ulong seed)
    {
        var ids = sample.Rows.Select(r => dataset.SequenceIds[r]).Distinct().Order().ToArray();
        if (ids.Length == 0)
        {
            throw new BeliefLensInputException("rows: no rows selected; nothing to split.");
        }

        int[] permutation = Permutation(ids.Length, seed);
        return permutation.Select(i => ids[i]).ToArray();
    }
}
