using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Cli.Run;

/// <summary>
/// The run stage for mixtures and products (after the probes; skipped for plain processes): per-position loss against
/// the Bayes curve, loss at the k-th event and the meta-belief over the context (mixtures); factored versus joint
/// probes, vary-one explained variance per factor, subspace overlaps with their baselines and dims@95 over training
/// (products). Numbers go to composite.json; the report draws them (<see cref="Reporting.CompositeReport"/>).
/// </summary>
public static class CompositeStage
{
    /// <summary>Sampled sequences for the event-conditioned loss and the meta-belief curve.</summary>
    public const int EventSequences = 1024;

    /// <summary>Random-init models for the overlap band.</summary>
    public const int RandomInits = 5;

    public const int MaxOverlapK = 20;

    public static void Run(Experiment experiment, Process process, RunWriter writer, IRunObserver observer, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(observer);
        if (process.Composite is not { } composite)
        {
            return;
        }

        var dir = writer.Directory;
        if (File.Exists(dir.CompositePath))
        {
            observer.Stage("composite", "already analysed; skipped");
            return;
        }

        observer.Stage("composite", $"{(composite.Kind == CompositeKind.Mixture ? "mixture" : "product")} analyses");
        var result = Analyse(experiment, process, dir, observer, cancellation);
        writer.WriteText(dir.CompositePath, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    public static JsonObject Analyse(Experiment experiment, Process process, RunDirectory dir, IRunObserver observer, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(experiment);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(dir);
        ArgumentNullException.ThrowIfNull(observer);
        var composite = process.Composite!;
        int nCtx = experiment.Model.NCtx;
        ulong seed = experiment.Probe.Seed ^ 0xC0_4505_17E5UL;
        var device = Trainer.ParseDevice(experiment.Device);
        var summary = dir.ReadSummary();
        var bayes = BayesLossCurve.Compute(process, nCtx, samples: 2048, seed: seed);
        var json = new JsonObject
        {
            ["kind"] = composite.Kind == CompositeKind.Mixture ? "mixture" : "product",
            ["parts"] = new JsonArray(composite.Parts.Select(p => (JsonNode)p.Name).ToArray()),
            ["asymptotic_loss"] = LossFloor.Asymptotic(process),
            ["per_position"] = new JsonObject
            {
                ["model"] = Array(summary.ValidationLossPerPosition),
                ["validation_floor"] = Array(summary.LossFloorPerPosition),
                ["bayes"] = Array(bayes.Loss),
                ["bayes_standard_error"] = Array(bayes.StandardError),
                ["bayes_exact"] = bayes.Exact,
                ["bayes_sequences"] = bayes.Sequences,
                ["max_abs_excess_over_bayes"] = summary.ValidationLossPerPosition.Select((l, t) => Math.Abs(l - bayes.Loss[t])).Max(),

                // Paired with the validation sequences' own Bayes loss: the model's excess without the sample's noise.
                ["excess_over_validation_floor"] = Array(summary.ValidationLossPerPosition.Select((l, t) => l - summary.LossFloorPerPosition[t])),
                ["max_excess_over_validation_floor"] = summary.ValidationLossPerPosition.Select((l, t) => l - summary.LossFloorPerPosition[t]).Max(),
            },
        };
        observer.Info($"Bayes loss per position: {(bayes.Exact ? "exact (merged MSP)" : $"Monte Carlo over {bayes.Sequences} sequences")}");

        long finalStep = experiment.Training.Steps;
        using var model = Checkpoints.LoadModel(dir.CheckpointPath(finalStep), experiment.Model, device);
        cancellation.ThrowIfCancellationRequested();
        if (composite.Kind == CompositeKind.Mixture)
        {
            json["mixture"] = Mixture(process, model, nCtx, seed);
        }
        else
        {
            json["product"] = Product(experiment, process, model, dir, seed, observer, cancellation);
        }

        return json;
    }

    private static JsonObject Mixture(Process process, HookedTransformer model, int nCtx, ulong seed)
    {
        var composite = process.Composite!;
        var sequences = new int[EventSequences * (nCtx + 1)];
        new ProcessSampler(process).Sample(new Rng(seed), sequences, EventSequences, nCtx + 1);
        var modelLosses = SequenceActivations.NextTokenLosses(model, sequences, nCtx);
        var bayesLosses = EventConditionedLoss.BayesLosses(process, sequences, nCtx);

        // Meta-belief over the context: the posterior mass of the most likely component, averaged over sequences.
        var certainty = new double[nCtx];
        var belief = new double[process.StateCount];
        var next = new double[process.StateCount];
        for (int r = 0; r < EventSequences; r++)
        {
            process.InitialBelief.CopyTo(belief, 0);
            for (int t = 0; t < nCtx; t++)
            {
                BeliefMath.Update(process, belief, sequences[(r * (nCtx + 1)) + t], next);
                (belief, next) = (next, belief);
                certainty[t] += composite.MetaBelief(belief, process.Tau).Max() / EventSequences;
            }
        }

        var result = new JsonObject { ["meta_belief_max_mass"] = Array(certainty), ["weights"] = Array(composite.Weights) };

        // The event: shared tokens that only some components emit (the names of Dursley–Wonka); none for coins.
        var events = Enumerable.Range(0, process.VocabSize)
            .Where(x => x != composite.BosToken && composite.VocabMaps.Count(m => m.Contains(x)) < composite.PartCount)
            .ToHashSet();
        if (events.Count > 0)
        {
            const int maxK = 10;
            int first = composite.BosToken is null ? 0 : 1;
            var (modelMean, count) = EventConditionedLoss.ByOccurrence(sequences, modelLosses, nCtx, events, maxK, first);
            var (bayesMean, _) = EventConditionedLoss.ByOccurrence(sequences, bayesLosses, nCtx, events, maxK, first);
            result["event"] = new JsonObject
            {
                ["tokens"] = new JsonArray(events.Order().Select(x => (JsonNode)process.TokenNames[x]).ToArray()),
                ["first_position"] = first,
                ["model"] = Array(modelMean),
                ["bayes"] = Array(bayesMean),
                ["count"] = new JsonArray(count.Select(c => (JsonNode)c).ToArray()),
            };
        }

        return result;
    }

    private static JsonObject Product(Experiment experiment, Process process, HookedTransformer model, RunDirectory dir, ulong seed, IRunObserver observer, CancellationToken cancellation)
    {
        var composite = process.Composite!;
        int nCtx = experiment.Model.NCtx, d = experiment.Model.DModel;
        string site = ProbeRunner.DefaultSite(experiment.Model);
        var inputs = ProbeInputs.Build(process, nCtx, experiment.Probe.MaxSequences, experiment.Probe.Seed);
        var positions = Enumerable.Range(0, nCtx).ToArray();
        var features = ProbeRunner.Activations(model, inputs, [site], positions)[site];
        var probe = FactoredAnalysis.Evaluate(features, inputs, experiment.Probe.Weighting == "prob" ? ProbeWeighting.Prob : ProbeWeighting.Paper, experiment.Probe.Seed, experiment.Probe.FitFraction);
        int dims = Pca.Fit(features).Spectrum.For95;
        int budget = composite.Parts.Sum(p => p.StateCount - 1) + 2;
        observer.Info($"{site}: factored R² {probe.Factored.HeldOut.R2:F4}, joint R² {probe.Joint.HeldOut.R2:F4}, dims@95 {dims} (Σ(S_i−1)+2 = {budget})");
        var result = new JsonObject
        {
            ["site"] = site,
            ["structure"] = ProcessBuilders.StructureName(composite.Structure),
            ["noise"] = composite.Noise,
            ["factored_r2"] = Num(probe.Factored.HeldOut.R2),
            ["joint_r2"] = Num(probe.Joint.HeldOut.R2),
            ["factor_r2"] = new JsonArray(probe.PerFactor.Select(p => (JsonNode?)Num(p.HeldOut.R2)).ToArray()),
            ["dims_at_95"] = dims,
            ["dims_budget"] = budget,
        };

        if (composite.Structure == ProductStructure.Independent)
        {
            var trained = FactorSubspaces(process, model, site, nCtx, seed);
            result["factor_cev"] = new JsonArray(trained.Select(s => (JsonNode)Array(s.Cumulative.Take(MaxOverlapK))).ToArray());
            result["factor_dims_at_95"] = new JsonArray(trained.Select(s => (JsonNode)s.DimsAt95).ToArray());
            var pairs = new JsonArray();
            var untrained = Enumerable.Range(0, RandomInits).Select(i =>
            {
                cancellation.ThrowIfCancellationRequested();
                using var fresh = new HookedTransformer(experiment.Model, model.Device, experiment.Training.Seed + 1000UL + (ulong)i);
                return FactorSubspaces(process, fresh, site, nCtx, seed);
            }).ToArray();
            for (int a = 0; a < trained.Length; a++)
            {
                for (int b = a + 1; b < trained.Length; b++)
                {
                    var overlap = FactoredAnalysis.SubspaceOverlap(trained[a].Axes, trained[b].Axes, d, MaxOverlapK);
                    var band = untrained.Select(u => FactoredAnalysis.SubspaceOverlap(u[a].Axes, u[b].Axes, d, MaxOverlapK)).ToArray();
                    pairs.Add(new JsonObject
                    {
                        ["factors"] = new JsonArray(a, b),
                        ["overlap"] = Array(overlap),
                        ["random_subspace"] = Array(overlap.Select((_, k) => FactoredAnalysis.RandomOverlap(k + 1, d))),
                        ["random_init_min"] = Array(overlap.Select((_, k) => band.Min(o => o[k]))),
                        ["random_init_max"] = Array(overlap.Select((_, k) => band.Max(o => o[k]))),
                    });
                }
            }

            result["overlaps"] = pairs;
        }

        // dims@95 of the site over training, from every checkpoint.
        var steps = dir.CompleteCheckpointSteps();
        var small = ProbeInputs.Build(process, nCtx, Math.Min(512, experiment.Probe.MaxSequences), experiment.Probe.Seed);
        var overTraining = new List<(long Step, int Dims)>();
        foreach (long step in steps)
        {
            cancellation.ThrowIfCancellationRequested();
            using var checkpoint = Checkpoints.LoadModel(dir.CheckpointPath(step), experiment.Model, model.Device);
            var x = ProbeRunner.Activations(checkpoint, small, [site], positions)[site];
            overTraining.Add((step, Pca.Fit(x).Spectrum.For95));
        }

        result["dims_over_training"] = new JsonObject
        {
            ["steps"] = new JsonArray(overTraining.Select(o => (JsonNode)o.Step).ToArray()),
            ["dims_at_95"] = new JsonArray(overTraining.Select(o => (JsonNode)o.Dims).ToArray()),
        };
        var lastHalf = overTraining.Skip(overTraining.Count / 2).ToArray();
        if (lastHalf.Length >= 2)
        {
            result["dims_slope_last_half"] = FactoredAnalysis.Slope(lastHalf.Select(o => (double)o.Step).ToArray(), lastHalf.Select(o => (double)o.Dims).ToArray());
        }

        return result;
    }

    private static FactorSubspace[] FactorSubspaces(Process process, HookedTransformer model, string site, int nCtx, ulong seed)
    {
        const int bases = 64, variants = 16;
        int d = model.Config.DModel;
        return Enumerable.Range(0, process.Composite!.PartCount).Select(f =>
        {
            var (tokens, group) = VaryOne.Generate(process, f, bases, variants, nCtx, new Rng(seed + (ulong)f));
            var activations = SequenceActivations.At(model, tokens, nCtx, site);
            return FactoredAnalysis.VaryOneSpectrum(activations, d, group);
        }).ToArray();
    }

    private static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)Num(v)).ToArray());

    private static double? Num(double value) => double.IsFinite(value) ? value : null;
}
