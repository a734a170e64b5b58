using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch.Probing;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Interventions;

/// <summary>A site's probe as the intervention uses it: the affine fit's belief subspace, its in-sample MSE, and the directions the beliefs are written along.</summary>
public sealed record SiteProbeMap(string Site, BeliefSubspace Subspace, double Mse, BeliefEncoding Encoding);

/// <summary>
/// Causal tests of the belief representation on a <see cref="HookedTransformer"/> (transformer only: it edits
/// activations through <see cref="HookedTransformer.RunWithHooks"/>). Every edit replaces the activation at one hook
/// site at A's last position and runs the rest of the network from there; earlier positions and other sites are
/// untouched.
/// </summary>
public static class BeliefSteering
{
    /// <summary>How many examples per site the report keeps for the next-token figure.</summary>
    public const int Examples = 4;

    /// <summary>
    /// Fits an affine probe from each site's activations to the beliefs, on every (sequence, position) row of the
    /// probe inputs (all sequences of length n_ctx when there are at most <paramref name="maxSequences"/>), unweighted
    /// as the paper's probe, with the default cutoff; returns its belief subspace and in-sample MSE, and the slope of
    /// the activations on the beliefs over the same rows.
    /// </summary>
    public static IReadOnlyList<SiteProbeMap> FitProbes(HookedTransformer model, Process process, IReadOnlyList<string> sites, long maxSequences = 1 << 20, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sites);
        var inputs = ProbeInputs.Build(process, model.Config.NCtx, maxSequences, seed);
        var positions = Enumerable.Range(0, inputs.Length).ToArray();
        var features = ProbeRunner.Activations(model, inputs, sites, positions);
        var maps = new List<SiteProbeMap>();
        foreach (string site in sites)
        {
            var fit = AffineLeastSquares.Fit(features[site], inputs.Beliefs);
            var predicted = fit.Predict(features[site]);
            double sse = 0;
            for (int k = 0; k < predicted.Data.Length; k++)
            {
                double e = predicted.Data[k] - inputs.Beliefs.Data[k];
                sse += e * e;
            }

            maps.Add(new SiteProbeMap(site, BeliefSubspace.FromFit(fit), Metrics.Mse(sse, inputs.Beliefs.Rows, inputs.Beliefs.Cols),
                BeliefEncoding.Fit(features[site], inputs.Beliefs)));
        }

        return maps;
    }

    /// <summary>Belief steering with its controls at one site, on the given pairs; kernel pairs (may be empty) add the two-step test.</summary>
    public static SiteSteering Steer(HookedTransformer model, Process process, SiteProbeMap probe, IReadOnlyList<PrefixPair> pairs,
        IReadOnlyList<PrefixPair> kernelPairs, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(kernelPairs);
        if (pairs.Count == 0)
        {
            throw new BeliefLensInputException("--pairs: must be at least 1.");
        }

        var subspace = probe.Subspace;
        var rng = new Rng(seed ^ 0xC0A5_A1UL);
        var encodingRng = new Rng(seed ^ 0xE5C0_DE1UL); // its own stream, so the other controls draw what they always drew
        int n = pairs.Count;
        var before = new double[n];
        var after = new double[n];
        var random = new double[n];
        var orthogonal = new double[n];
        var patched = new double[n];
        var encoded = new double[n];
        var encodedRandom = new double[n];
        var encodingNorms = new double[n];
        var towardB = new double[n];
        var towardBBefore = new double[n];
        var towardBPatched = new double[n];
        var editNorms = new double[n];
        var activationNorms = new double[n];
        double readingError = 0, orthogonalReadingError = 0;
        var examples = new List<SteeredExample>();
        foreach (var group in Enumerable.Range(0, n).GroupBy(i => pairs[i].TokensA.Length))
        {
            int[] index = [.. group];
            int length = group.Key;
            var activationsA = LastActivations(model, probe.Site, index.Select(i => pairs[i].TokensA).ToArray());
            var activationsB = LastActivations(model, probe.Site, index.Select(i => pairs[i].TokensB).ToArray());
            var steered = new double[index.Length][];
            var randomEdit = new double[index.Length][];
            var orthogonalEdit = new double[index.Length][];
            var encodingEdit = new double[index.Length][];
            var encodingRandomEdit = new double[index.Length][];
            for (int g = 0; g < index.Length; g++)
            {
                var a = activationsA[g];
                var delta = subspace.EditTowards(a, pairs[index[g]].BeliefB);
                double norm = BeliefSubspace.Norm(delta);
                editNorms[index[g]] = norm;
                activationNorms[index[g]] = BeliefSubspace.Norm(a);
                steered[g] = Add(a, delta);
                randomEdit[g] = Add(a, subspace.RandomDirection(rng, norm, orthogonal: false));
                orthogonalEdit[g] = Add(a, subspace.RandomDirection(rng, norm, orthogonal: true));
                var alongEncoding = probe.Encoding.EditTowards(subspace, a, pairs[index[g]].BeliefB);
                encodingNorms[index[g]] = BeliefSubspace.Norm(alongEncoding);
                encodingEdit[g] = Add(a, alongEncoding);
                encodingRandomEdit[g] = Add(a, subspace.RandomDirection(encodingRng, encodingNorms[index[g]], orthogonal: false));
                readingError = Math.Max(readingError, MaxAbsDifference(subspace.Read(steered[g]), pairs[index[g]].BeliefB));
                orthogonalReadingError = Math.Max(orthogonalReadingError, MaxAbsDifference(subspace.Read(orthogonalEdit[g]), subspace.Read(a)));
            }

            var tokensA = index.Select(i => pairs[i].TokensA).ToArray();
            var logBefore = LastLogProbabilities(model, tokensA, probe.Site, null, length - 1, length - 1);
            var logAfter = LastLogProbabilities(model, tokensA, probe.Site, steered, length - 1, length - 1);
            var logRandom = LastLogProbabilities(model, tokensA, probe.Site, randomEdit, length - 1, length - 1);
            var logOrthogonal = LastLogProbabilities(model, tokensA, probe.Site, orthogonalEdit, length - 1, length - 1);
            var logPatched = LastLogProbabilities(model, tokensA, probe.Site, activationsB, length - 1, length - 1);
            var logEncoded = LastLogProbabilities(model, tokensA, probe.Site, encodingEdit, length - 1, length - 1);
            var logEncodedRandom = LastLogProbabilities(model, tokensA, probe.Site, encodingRandomEdit, length - 1, length - 1);
            var logModelB = LastLogProbabilities(model, index.Select(i => pairs[i].TokensB).ToArray(), probe.Site, null, length - 1, length - 1);
            for (int g = 0; g < index.Length; g++)
            {
                int i = index[g];
                var target = pairs[i].NextB;
                before[i] = Metrics.KlDivergence(target, logBefore[g]);
                after[i] = Metrics.KlDivergence(target, logAfter[g]);
                random[i] = Metrics.KlDivergence(target, logRandom[g]);
                orthogonal[i] = Metrics.KlDivergence(target, logOrthogonal[g]);
                patched[i] = Metrics.KlDivergence(target, logPatched[g]);
                encoded[i] = Metrics.KlDivergence(target, logEncoded[g]);
                encodedRandom[i] = Metrics.KlDivergence(target, logEncodedRandom[g]);
                var modelB = Exp(logModelB[g]);
                towardBBefore[i] = Metrics.KlDivergence(modelB, logBefore[g]);
                towardB[i] = Metrics.KlDivergence(modelB, logAfter[g]);
                towardBPatched[i] = Metrics.KlDivergence(modelB, logPatched[g]);
                if (i < Examples)
                {
                    examples.Add(new SteeredExample(Text(pairs[i].TokensA), Text(pairs[i].TokensB), target, pairs[i].NextA,
                        Exp(logBefore[g]), Exp(logAfter[g]), Exp(logRandom[g]), before[i], after[i]));
                }
            }
        }

        var used = Enumerable.Range(0, n).Where(i => before[i] >= SiteSteering.MinKlBefore).ToArray();
        double Gap(double[] kl) => used.Length == 0 ? double.NaN : used.Average(i => 1 - (kl[i] / before[i]));
        var gaps = used.Select(i => 1 - (after[i] / before[i])).Order().ToArray();
        double median = gaps.Length == 0 ? double.NaN : gaps.Length % 2 == 1 ? gaps[gaps.Length / 2] : (gaps[(gaps.Length / 2) - 1] + gaps[gaps.Length / 2]) / 2;
        double Mean(double[] values) => used.Length == 0 ? double.NaN : used.Average(i => values[i]);
        var usedB = Enumerable.Range(0, n).Where(i => towardBBefore[i] >= SiteSteering.MinKlBefore).ToArray();
        double GapB(double[] kl) => usedB.Length == 0 ? double.NaN : usedB.Average(i => 1 - (kl[i] / towardBBefore[i]));
        var kernel = kernelPairs.Count == 0 ? null : SteerInKernel(model, process, probe, kernelPairs, rng);
        return new SiteSteering(
            probe.Site, n, used.Length, Mean(before), Mean(after), Gap(after), Gap(random), Gap(orthogonal), Gap(patched), median,
            1 - (Mean(after) / Mean(before)), Mean(random), Mean(orthogonal), Mean(patched), editNorms.Average(), activationNorms.Average(),
            readingError, orthogonalReadingError, subspace.Rank, probe.Mse, GapB(towardB), GapB(towardBPatched), [.. examples.OrderBy(e => e.PrefixA.Length)], kernel,
            Gap(encoded), Gap(encodedRandom), encodingNorms.Average());
    }

    /// <summary>Steering by η_B − η_A where the two beliefs share a next-token distribution: the two-step test.</summary>
    public static KernelSteering SteerInKernel(HookedTransformer model, Process process, SiteProbeMap probe, IReadOnlyList<PrefixPair> pairs, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(pairs);
        ArgumentNullException.ThrowIfNull(rng);
        var usable = pairs.Where(p => p.TokensA.Length < model.Config.NCtx).ToList(); // two steps need one more position
        if (usable.Count == 0)
        {
            return new KernelSteering(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, 0,
                "no kernel pair is shorter than n_ctx, so no two-step prediction can be read");
        }

        int v = process.VocabSize;
        var shift = new List<double>();
        var shiftRandom = new List<double>();
        var twoBefore = new List<double>();
        var twoAfter = new List<double>();
        var twoRandom = new List<double>();
        var shiftEncoding = new List<double>();
        var twoEncoding = new List<double>();
        foreach (var group in usable.GroupBy(p => p.TokensA.Length))
        {
            var members = group.ToArray();
            int length = group.Key;
            var tokens = members.Select(p => p.TokensA).ToArray();
            var activations = LastActivations(model, probe.Site, tokens);
            var steered = new double[members.Length][];
            var randomEdit = new double[members.Length][];
            var encodingEdit = new double[members.Length][];
            for (int g = 0; g < members.Length; g++)
            {
                var change = members[g].BeliefB.Zip(members[g].BeliefA, (b, a) => b - a).ToArray();
                var delta = probe.Subspace.EditFor(change);
                steered[g] = Add(activations[g], delta);
                randomEdit[g] = Add(activations[g], probe.Subspace.RandomDirection(rng, BeliefSubspace.Norm(delta), orthogonal: false));
                encodingEdit[g] = Add(activations[g], probe.Encoding.EditFor(probe.Subspace, change));
            }

            var q = new[]
            {
                TwoStepModel(model, tokens, probe.Site, null, v), TwoStepModel(model, tokens, probe.Site, steered, v), TwoStepModel(model, tokens, probe.Site, randomEdit, v),
                TwoStepModel(model, tokens, probe.Site, encodingEdit, v),
            };
            for (int g = 0; g < members.Length; g++)
            {
                var exact = PrefixPairs.TwoStep(process, members[g].BeliefB);
                var first = q.Select(d => Marginal(d[g], v)).ToArray();
                shift.Add(Metrics.KlDivergence(first[0], Log(first[1])));
                shiftRandom.Add(Metrics.KlDivergence(first[0], Log(first[2])));
                twoBefore.Add(Metrics.KlDivergence(exact, Log(q[0][g])));
                twoAfter.Add(Metrics.KlDivergence(exact, Log(q[1][g])));
                twoRandom.Add(Metrics.KlDivergence(exact, Log(q[2][g])));
                shiftEncoding.Add(Metrics.KlDivergence(first[0], Log(first[3])));
                twoEncoding.Add(Metrics.KlDivergence(exact, Log(q[3][g])));
            }
        }

        int moved = twoBefore.Zip(twoAfter, (b, a) => a < b ? 1 : 0).Sum();
        double GapOf(List<double> afterKl) => twoBefore.Zip(afterKl, (b, a) => b > SiteSteering.MinKlBefore ? 1 - (a / b) : double.NaN).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Average();
        return new KernelSteering(usable.Count, shift.Average(), shift.Max(), shiftRandom.Average(), twoBefore.Average(), twoAfter.Average(), GapOf(twoAfter),
            twoRandom.Average(), GapOf(twoRandom), moved, null, shiftEncoding.Average(), twoEncoding.Average(), GapOf(twoEncoding),
            twoBefore.Zip(twoEncoding, (b, a) => a < b ? 1 : 0).Sum());
    }

    /// <summary>The site's activation at the last position of each (equal-length) sequence, as float64 rows.</summary>
    public static double[][] LastActivations(HookedTransformer model, string site, int[][] sequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        using var scope = NewDisposeScope();
        int length = sequences[0].Length;
        using var tokens = Tokens(model, sequences);
        using var cache = model.CacheActivations(tokens, [site]);
        var rows = cache[site].select(1, length - 1).to(ScalarType.Float64).cpu().data<double>().ToArray(); // [G, d]
        int d = rows.Length / sequences.Length;
        return Enumerable.Range(0, sequences.Length).Select(g => rows.AsSpan(g * d, d).ToArray()).ToArray();
    }

    /// <summary>
    /// Log next-token probabilities at <paramref name="readPosition"/>, with the site's activation at
    /// <paramref name="editPosition"/> replaced by <paramref name="replacement"/> (one row per sequence; null: no edit).
    /// </summary>
    public static double[][] LastLogProbabilities(HookedTransformer model, int[][] sequences, string site, double[][]? replacement, int editPosition, int readPosition)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        using var scope = NewDisposeScope();
        using var tokens = Tokens(model, sequences);
        var hooks = new Dictionary<string, Func<Tensor, Tensor>>(StringComparer.Ordinal);
        if (replacement is not null)
        {
            int d = replacement[0].Length;
            var rows = tensor(replacement.SelectMany(r => r).Select(x => (float)x).ToArray(), [replacement.Length, d], device: model.Device);
            hooks[site] = x =>
            {
                var edited = x.clone();
                edited.select(1, editPosition).copy_(rows.to(x.dtype));
                return edited;
            };
        }

        using (no_grad())
        {
            var logits = model.RunWithHooks(tokens, hooks);
            var log = logits.select(1, readPosition).to(ScalarType.Float64).log_softmax(-1).cpu().data<double>().ToArray();
            int v = log.Length / sequences.Length;
            return Enumerable.Range(0, sequences.Length).Select(g => log.AsSpan(g * v, v).ToArray()).ToArray();
        }
    }

    /// <summary>Q(x1 x2) = P(x1 | A) · P(x2 | A x1), with the same edit at A's last position in every pass; flat [V·V] per sequence.</summary>
    private static double[][] TwoStepModel(HookedTransformer model, int[][] sequences, string site, double[][]? replacement, int v)
    {
        int length = sequences[0].Length;
        var first = LastLogProbabilities(model, sequences, site, replacement, length - 1, length - 1);
        var result = sequences.Select(_ => new double[v * v]).ToArray();
        for (int x = 0; x < v; x++)
        {
            var extended = sequences.Select(s => s.Append(x).ToArray()).ToArray();
            var second = LastLogProbabilities(model, extended, site, replacement, length - 1, length);
            for (int g = 0; g < sequences.Length; g++)
            {
                for (int y = 0; y < v; y++)
                {
                    result[g][(x * v) + y] = Math.Exp(first[g][x] + second[g][y]);
                }
            }
        }

        return result;
    }

    private static Tensor Tokens(HookedTransformer model, int[][] sequences)
    {
        int length = sequences[0].Length;
        if (sequences.Any(s => s.Length != length))
        {
            throw new ArgumentException("sequences: a batch must hold sequences of one length.", nameof(sequences));
        }

        return tensor(sequences.SelectMany(s => s).Select(t => (long)t).ToArray(), [sequences.Length, length], device: model.Device);
    }

    private static double[] Marginal(double[] joint, int v)
    {
        var marginal = new double[v];
        for (int x = 0; x < v; x++)
        {
            for (int y = 0; y < v; y++)
            {
                marginal[x] += joint[(x * v) + y];
            }
        }

        return marginal;
    }

    private static double[] Log(double[] p) => p.Select(x => Math.Log(x)).ToArray();

    private static double[] Exp(double[] log) => log.Select(x => Math.Exp(x)).ToArray();

    private static double[] Add(double[] a, double[] b) => a.Zip(b, (x, y) => x + y).ToArray();

    private static double MaxAbsDifference(double[] a, double[] b) => a.Zip(b, (x, y) => Math.Abs(x - y)).Max();

    private static string Text(int[] tokens) => string.Join(' ', tokens);
}
