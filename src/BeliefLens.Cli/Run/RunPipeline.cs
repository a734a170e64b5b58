using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Cli.Run;

/// <summary>Files of a run directory: the interface between the train, probe and report stages.</summary>
public static class RunFiles
{
    public static string Config(string dir) => Path.Combine(dir, "config.json");
    public static string Summary(string dir) => Path.Combine(dir, "summary.json");
    public static string Metrics(string dir) => Path.Combine(dir, "metrics.jsonl");
    public static string Probes(string dir) => Path.Combine(dir, "probes.jsonl");
    public static string ProbeDir(string dir) => Path.Combine(dir, "probe");
    public static string EmergenceDir(string dir) => Path.Combine(dir, "probe", "emergence");
    public static string Emergence(string dir, long step) => Path.Combine(EmergenceDir(dir), $"step_{step:D7}.npy");
    public static string FinalProbe(string dir) => Path.Combine(ProbeDir(dir), "probe.json");
    public static string TrueBeliefs(string dir) => Path.Combine(ProbeDir(dir), "beliefs_true.npy");
    public static string NextToken(string dir) => Path.Combine(ProbeDir(dir), "next_token_true.npy");
    public static string PrefixProbability(string dir) => Path.Combine(ProbeDir(dir), "prefix_probability.npy");
    public static string Predicted(string dir, string site) => Path.Combine(ProbeDir(dir), $"beliefs_pred.{site}.npy");
    public static string Figures(string dir) => Path.Combine(dir, "figures");
    public static string Report(string dir) => Path.Combine(dir, "report.html");

    /// <summary>Temp file, then rename: a killed run never leaves a half-written file under the real name.</summary>
    public static void WriteText(string path, string text)
    {
        string temp = path + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    public static string Indented(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
}

/// <summary>What the pipeline tells its caller as it goes; the library stays UI-free.</summary>
public interface IRunObserver
{
    void Stage(string name, string detail);

    void Training(TrainingProgress progress);

    void Info(string message);
}

/// <summary>
/// train → probe every checkpoint → figures → report. Each stage is resumable and a finished stage is not redone:
/// training resumes from its last checkpoint, probing skips checkpoints already in probes.jsonl.
/// </summary>
public static class RunPipeline
{
    public static TrainingRun TrainingRunFor(Experiment experiment, Process process, string dir) =>
        new(process, experiment.ProcessSpec, experiment.ProcessParameters, experiment.Model, experiment.Training, dir, experiment.Device,
            new JsonObject { ["experiment"] = experiment.Name, ["probe"] = experiment.Probe.ToJson() });

    public static void Execute(Experiment experiment, string dir, bool force, IRunObserver observer, CancellationToken cancellation)
    {
        var process = experiment.ResolveProcess();
        var run = TrainingRunFor(experiment, process, dir);
        bool resume = CheckDirectory(run, dir, force);
        if (force && !resume)
        {
            ClearDerived(dir);
        }

        Train(run, resume, force && !resume, observer, cancellation);
        Probe(experiment, process, dir, observer, cancellation);
        observer.Stage("report", "figures and report.html");
        RunReport.Render(dir, observer);
    }

    /// <summary>
    /// Returns true when <paramref name="dir"/> already holds this same experiment (so it resumes). A directory
    /// holding a different experiment is refused unless <paramref name="force"/>.
    /// </summary>
    public static bool CheckDirectory(TrainingRun run, string dir, bool force)
    {
        string path = RunFiles.Config(dir);
        if (!File.Exists(path))
        {
            return false;
        }

        JsonNode? existing;
        try
        {
            existing = JsonNode.Parse(File.ReadAllText(path));
        }
        catch (JsonException)
        {
            if (force)
            {
                return false;
            }

            throw new BeliefLensInputException($"--out {dir}: config.json is not valid JSON; use --force to start this run over.");
        }

        var expected = Trainer.ResolvedConfig(run);
        string? difference = FirstDifference(existing, expected, string.Empty);
        if (difference is null)
        {
            return true;
        }

        if (force)
        {
            return false;
        }

        throw new BeliefLensInputException(
            $"--out {dir}: holds a different experiment ({difference}); choose another --out, or pass --force to replace it.");
    }

    private static string? FirstDifference(JsonNode? actual, JsonNode? expected, string path)
    {
        if (actual is JsonObject a && expected is JsonObject e)
        {
            foreach (var key in a.Select(kv => kv.Key).Union(e.Select(kv => kv.Key)))
            {
                string child = path.Length == 0 ? key : $"{path}.{key}";
                if (!a.ContainsKey(key) || !e.ContainsKey(key))
                {
                    return $"field {child} is only in {(a.ContainsKey(key) ? "the existing run" : "this experiment")}";
                }

                if (FirstDifference(a[key], e[key], child) is string d)
                {
                    return d;
                }
            }

            return null;
        }

        return JsonNode.DeepEquals(actual, expected)
            ? null
            : $"{(path.Length == 0 ? "config" : path)} is {actual?.ToJsonString() ?? "null"} there, {expected?.ToJsonString() ?? "null"} here";
    }

    private static void ClearDerived(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return; // --force on a directory that does not exist yet: nothing to clear
        }

        foreach (string file in new[] { RunFiles.Probes(dir), RunFiles.Report(dir) })
        {
            File.Delete(file);
        }

        foreach (string folder in new[] { RunFiles.ProbeDir(dir), RunFiles.Figures(dir) })
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    private static bool TrainingFinished(TrainingRun run, string dir)
    {
        if (!File.Exists(RunFiles.Summary(dir)))
        {
            return false;
        }

        var steps = Checkpoints.CompleteSteps(dir);
        return steps.Count > 0 && steps[^1] == run.Options.Steps;
    }

    private static void Train(TrainingRun run, bool resume, bool force, IRunObserver observer, CancellationToken cancellation)
    {
        if (resume && TrainingFinished(run, run.RunDirectory))
        {
            observer.Stage("train", "already finished; skipped");
            return;
        }

        observer.Stage("train", resume ? "resuming from the last checkpoint" : $"{run.Options.Steps} steps");
        var summary = Trainer.Run(run, resume, force, observer.Training, cancellation);
        observer.Info(string.Create(CultureInfo.InvariantCulture,
            $"validation loss {summary.ValidationLoss:F5} vs floor {summary.LossFloor:F5} nats ({(summary.ValidationLoss / summary.LossFloor - 1) * 100:F2}% above) after {summary.Tokens:N0} tokens, {summary.WallSeconds:F0} s"));
    }

    /// <summary>Probe options for the run: the experiment's sites; controls only for the final checkpoint.</summary>
    internal static ProbeOptions Options(Experiment experiment, bool final) =>
        new(
            sites: final ? experiment.Probe.Sites : [EmergenceSite(experiment.Model)],
            concat: final && experiment.Probe.Concat && experiment.Probe.Sites.Count > 1,
            weighting: experiment.Probe.Weighting == "prob" ? ProbeWeighting.Prob : ProbeWeighting.Paper,
            maxSequences: experiment.Probe.MaxSequences,
            seed: experiment.Probe.Seed,
            fitFraction: experiment.Probe.FitFraction,
            controls: final);

    /// <summary>The site whose geometry the emergence figures follow: the last block's residual stream.</summary>
    public static string EmergenceSite(TransformerConfig model) => ProbeRunner.DefaultSite(model);

    private static void Probe(Experiment experiment, Process process, string dir, IRunObserver observer, CancellationToken cancellation)
    {
        var steps = Checkpoints.CompleteSteps(dir);
        long finalStep = experiment.Training.Steps;
        var done = ReadProbedSteps(dir);
        // The final probe is complete only once its line is in probes.jsonl too (a kill can fall between the two).
        bool finalDone = File.Exists(RunFiles.FinalProbe(dir)) && File.Exists(RunFiles.TrueBeliefs(dir)) && done.Contains(finalStep);
        var pending = steps.Where(s => s != finalStep && !done.Contains(s)).ToList();
        if (!done.Contains(0))
        {
            pending.Insert(0, 0);
        }

        if (pending.Count == 0 && finalDone)
        {
            observer.Stage("probe", "all checkpoints already probed; skipped");
            if (JsonNode.Parse(File.ReadAllText(RunFiles.Summary(dir)))?["probes"] is null)
            {
                WriteSummaryProbes(dir); // killed after probing but before summary.json got its probe metrics
            }

            return;
        }

        observer.Stage("probe", $"{pending.Count + (finalDone ? 0 : 1)} checkpoints");
        var device = Trainer.ParseDevice(experiment.Device);
        var inputs = ProbeInputs.Build(process, experiment.Model.NCtx, experiment.Probe.MaxSequences, experiment.Probe.Seed);
        using var untrained = new HookedTransformer(experiment.Model, device, experiment.Training.Seed);
        Directory.CreateDirectory(RunFiles.EmergenceDir(dir));
        long tokensPerStep = (long)experiment.Training.BatchSize * experiment.Model.NCtx;

        foreach (long step in pending)
        {
            cancellation.ThrowIfCancellationRequested();
            using var loaded = step == 0 ? null : Checkpoints.LoadModel(Checkpoints.ModelPath(dir, step), experiment.Model, device);
            var model = loaded ?? untrained;
            var report = ProbeRunner.Run(model, process, Options(experiment, final: false), inputs: inputs);
            SaveEmergence(dir, step, report.Sites[0]);
            AppendProbeLine(dir, step, step * tokensPerStep, report);
            observer.Info(string.Create(CultureInfo.InvariantCulture,
                $"step {step,7}: {report.Sites[0].Site} held-out MSE {report.Sites[0].HeldOut.Mse:G4}, R² {report.Sites[0].HeldOut.R2:F4}"));
        }

        if (!finalDone)
        {
            cancellation.ThrowIfCancellationRequested();
            using var model = Checkpoints.LoadModel(Checkpoints.ModelPath(dir, finalStep), experiment.Model, device);
            var report = ProbeRunner.Run(model, process, Options(experiment, final: true), untrained, inputs);
            string emergenceSite = EmergenceSite(experiment.Model);
            var last = report.Sites.FirstOrDefault(s => s.Site == emergenceSite) ?? report.Sites[0];
            SaveEmergence(dir, finalStep, last);
            var mixture = ProcessBuilders.ComponentOfStates(process) is int[] components
                ? ProbeMixture(model, inputs, last.Site, components, Options(experiment, final: true))
                : null;
            SaveFinal(dir, report, inputs, mixture);
            AppendProbeLine(dir, finalStep, finalStep * tokensPerStep, report);
            foreach (var site in report.Sites)
            {
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"final {site.Site,-26} held-out MSE {site.HeldOut.Mse:G4}  R² {site.HeldOut.R2:F4}  shuffle {site.Shuffled.Mse:G4}  untrained {site.UntrainedMse ?? double.NaN:G4}"));
            }
        }

        WriteSummaryProbes(dir);
    }

    /// <summary>The site's predicted belief of each distinct prefix (the report's order), as float32.</summary>
    private static void SaveEmergence(string dir, long step, SiteProbe site) =>
        NpyFile.Write(RunFiles.Emergence(dir, step), site.Predicted, singlePrecision: true);

    /// <summary>
    /// For a non-ergodic mixture, two more probes from the same site (<see cref="MixtureProbes"/>): the component
    /// identity (the posterior mass of each component) and the within-component belief.
    /// </summary>
    public static JsonObject ProbeMixture(HookedTransformer model, ProbeInputs inputs, string site, int[] componentOfState, ProbeOptions options)
    {
        var features = ProbeRunner.Activations(model, inputs, [site], Enumerable.Range(0, inputs.Length).ToArray(), options.Chunk)[site];
        var probe = MixtureProbes.Evaluate(features, inputs, componentOfState, options.Weighting, options.Seed, options.FitFraction, options.Fit);
        static JsonObject Score(ProbeEvaluation evaluation, int dims) => new()
        {
            ["dims"] = dims,
            ["mse_insample"] = evaluation.InSample.Mse,
            ["mse_heldout"] = evaluation.HeldOut.Mse,
            ["r2_heldout"] = evaluation.HeldOut.R2,
            ["shuffle_mse"] = evaluation.Shuffled.Mse,
        };

        return new JsonObject
        {
            ["site"] = site,
            ["components"] = probe.Components,
            ["component_identity"] = Score(probe.ComponentIdentity, probe.Components),
            ["within_component_belief"] = Score(probe.WithinComponentBelief, componentOfState.Length),
        };
    }

    /// <summary>Every array is per distinct prefix, in order of first appearance (<see cref="ProbeReport.DistinctInputRows"/>).</summary>
    private static void SaveFinal(string dir, ProbeReport report, ProbeInputs inputs, JsonObject? mixture)
    {
        Directory.CreateDirectory(RunFiles.ProbeDir(dir));
        int[] distinct = report.DistinctInputRows;
        foreach (var site in report.Sites)
        {
            NpyFile.Write(RunFiles.Predicted(dir, site.Site), site.Predicted);
        }

        NpyFile.Write(RunFiles.NextToken(dir), inputs.NextToken.SelectRows(distinct));
        NpyFile.WriteFloat64(RunFiles.PrefixProbability(dir), distinct.Select(r => inputs.PrefixProbabilities[r]).ToArray(), distinct.Length);
        var json = new JsonObject
        {
            ["process"] = report.Process,
            ["weighting"] = report.Weighting == ProbeWeighting.Prob ? "prob" : "paper",
            ["sequences"] = report.Sequences,
            ["exhaustive"] = report.Exhaustive,
            ["distinct_prefixes"] = distinct.Length,
            ["sites"] = new JsonArray(report.Sites.Select(s => (JsonNode)ProbeOutput.SiteJson(s)).ToArray()),
        };
        if (mixture is not null)
        {
            json["mixture"] = mixture;
        }

        RunFiles.WriteText(RunFiles.FinalProbe(dir), RunFiles.Indented(json));

        // Written last: its presence marks the final probe as complete.
        NpyFile.Write(RunFiles.TrueBeliefs(dir), report.TrueBeliefs);
    }

    private static HashSet<long> ReadProbedSteps(string dir)
    {
        var steps = new HashSet<long>();
        foreach (var line in ReadProbeLines(dir))
        {
            steps.Add(line["step"]!.GetValue<long>());
        }

        return steps;
    }

    /// <summary>probes.jsonl, one object per probed checkpoint; a torn last line from a kill is ignored.</summary>
    public static List<JsonObject> ReadProbeLines(string dir)
    {
        var lines = new List<JsonObject>();
        string path = RunFiles.Probes(dir);
        if (!File.Exists(path))
        {
            return lines;
        }

        foreach (string text in File.ReadLines(path))
        {
            try
            {
                if (JsonNode.Parse(text) is JsonObject o && o["step"] is not null)
                {
                    lines.Add(o);
                }
            }
            catch (JsonException)
            {
                // A line cut short by an interrupted run; that checkpoint is probed again.
            }
        }

        return lines;
    }

    private static void AppendProbeLine(string dir, long step, long tokens, ProbeReport report)
    {
        var line = new JsonObject
        {
            ["step"] = step,
            ["tokens"] = tokens,
            ["sites"] = new JsonArray(report.Sites.Select(s => (JsonNode)ProbeOutput.SiteJson(s)).ToArray()),
        };
        var existing = ReadProbeLines(dir).Where(l => l["step"]!.GetValue<long>() != step).Append(line)
            .OrderBy(l => l["step"]!.GetValue<long>()).Select(l => l.ToJsonString());
        RunFiles.WriteText(RunFiles.Probes(dir), string.Join('\n', existing) + "\n");
    }

    /// <summary>Adds the final probe metrics (paper weighting, held out by sequence) to summary.json.</summary>
    public static void WriteSummaryProbes(string dir)
    {
        var summary = JsonNode.Parse(File.ReadAllText(RunFiles.Summary(dir)))!.AsObject();
        var config = JsonNode.Parse(File.ReadAllText(RunFiles.Config(dir)))!.AsObject();
        var final = JsonNode.Parse(File.ReadAllText(RunFiles.FinalProbe(dir)))!.AsObject();
        summary["experiment"] = config["experiment"]?.DeepClone();
        summary["probe_weighting"] = final["weighting"]?.DeepClone();
        summary["probes"] = new JsonArray(final["sites"]!.AsArray().Select(s => (JsonNode)new JsonObject
        {
            ["site"] = s!["site"]?.DeepClone(),
            ["mse_insample"] = s["mse_insample"]?.DeepClone(),
            ["mse_heldout"] = s["mse_heldout"]?.DeepClone(),
            ["r2_heldout"] = s["r2_heldout"]?.DeepClone(),
            ["shuffle_mse"] = s["shuffle_mse"]?.DeepClone(),
            ["untrained_mse"] = s["untrained_mse"]?.DeepClone(),
            ["next_token_mse"] = s["next_token_mse"]?.DeepClone(),
        }).ToArray());
        if (final["mixture"] is JsonObject mixture)
        {
            summary["mixture_probes"] = mixture.DeepClone();
        }

        RunFiles.WriteText(RunFiles.Summary(dir), RunFiles.Indented(summary));
    }
}
