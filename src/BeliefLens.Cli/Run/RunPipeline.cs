using System.Globalization;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Cli.Run;

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
    public static TrainingRun TrainingRunFor(Experiment experiment, Process process) =>
        new(process, experiment.ProcessSpec, experiment.ProcessParameters, experiment.Model, experiment.Training, experiment.Device,
            experiment.Name, experiment.Probe.ToRecord());

    /// <summary>
    /// Runs the pipeline in <paramref name="dir"/>, holding its lock throughout: a second process writing the same
    /// directory is refused with one line naming this one.
    /// </summary>
    public static void Execute(Experiment experiment, string dir, bool force, IRunObserver observer, CancellationToken cancellation)
    {
        var process = experiment.ResolveProcess();
        var run = TrainingRunFor(experiment, process);
        var directory = new RunDirectory(dir);
        CheckDirectory(run, directory, force); // refuse before creating anything (the lock file included)
        using var writer = directory.Lock();
        bool resume = CheckDirectory(run, directory, force); // again under the lock: the answer that counts

        Train(run, writer, resume, force && !resume, observer, cancellation);
        Probe(experiment, process, writer, observer, cancellation);
        if (experiment.Probe.IsQuantum)
        {
            QuantumStage(experiment, process, writer, observer, cancellation);
        }

        CompositeStage.Run(experiment, process, writer, observer, cancellation); // mixtures and products only
        observer.Stage("report", "figures and report.html");
        // `report` alone never loads TorchSharp, so the TensorBoard images come from here, before report.html marks the run done.
        RunReport.Render(writer, observer, afterFigures: () => TensorBoardLog.WriteFigures(writer, experiment.Training.Steps,
            new[] { "emergence", "beliefs-true-vs-predicted" }.Select(name => Path.Combine(writer.Directory.FiguresPath, name + ".png"))));
    }

    /// <summary>
    /// Returns true when <paramref name="directory"/> already holds this same experiment (so it resumes). A directory
    /// holding a different experiment, or other files, is refused unless <paramref name="force"/>.
    /// </summary>
    public static bool CheckDirectory(TrainingRun run, RunDirectory directory, bool force)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!directory.HoldsRun)
        {
            return directory.IsEmpty || force
                ? false
                : throw new BeliefLensInputException($"--out {directory.Path}: is not empty and holds no run; choose an empty directory or use --force.");
        }

        RunConfig existing;
        try
        {
            existing = directory.ReadConfig();
        }
        catch (BeliefLensInputException ex)
        {
            return force ? false : throw new BeliefLensInputException($"{ex.Message.TrimEnd('.')} (--force starts this run over).");
        }

        string? difference = RunJson.FirstDifference(existing, Trainer.ResolvedConfig(run));
        if (difference is null)
        {
            return true;
        }

        return force
            ? false
            : throw new BeliefLensInputException(
                $"--out {directory.Path}: holds a different experiment ({difference}); choose another --out, or pass --force to replace it.");
    }

    private static bool TrainingFinished(TrainingRun run, RunDirectory dir)
    {
        if (!dir.HasSummary)
        {
            return false;
        }

        var steps = dir.CompleteCheckpointSteps();
        return steps.Count > 0 && steps[^1] == run.Options.Steps;
    }

    private static void Train(TrainingRun run, RunWriter writer, bool resume, bool force, IRunObserver observer, CancellationToken cancellation)
    {
        if (resume && TrainingFinished(run, writer.Directory))
        {
            observer.Stage("train", "already finished; skipped");
            return;
        }

        observer.Stage("train", resume ? "resuming from the last checkpoint" : $"{run.Options.Steps} steps");
        var existing = resume ? ExistingRun.Resume : force ? ExistingRun.Replace : ExistingRun.Refuse;
        var summary = Trainer.Run(run, writer, existing, observer.Training, cancellation);
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

    private static void Probe(Experiment experiment, Process process, RunWriter writer, IRunObserver observer, CancellationToken cancellation)
    {
        var dir = writer.Directory;
        var steps = dir.CompleteCheckpointSteps();
        long finalStep = experiment.Training.Steps;
        var done = dir.ReadProbeLines().Select(l => l.Step).ToHashSet();
        // The final probe is complete only once its line is in probes.jsonl too (a kill can fall between the two).
        bool finalDone = dir.Probe.IsComplete && done.Contains(finalStep);
        var pending = steps.Where(s => s != finalStep && !done.Contains(s)).ToList();
        if (!done.Contains(0))
        {
            pending.Insert(0, 0);
        }

        if (pending.Count == 0 && finalDone)
        {
            observer.Stage("probe", "all checkpoints already probed; skipped");
            TensorBoardLog.WriteProbes(writer); // a kill may have come between probes.jsonl and its event file
            if (dir.ReadSummary().Probes is null)
            {
                WriteSummaryProbes(writer); // killed after probing but before summary.json got its probe metrics
            }

            return;
        }

        observer.Stage("probe", $"{pending.Count + (finalDone ? 0 : 1)} checkpoints");
        var device = Trainer.ParseDevice(experiment.Device);
        var inputs = ProbeInputs.Build(process, experiment.Model.NCtx, experiment.Probe.MaxSequences, experiment.Probe.Seed);
        using var untrained = SequenceModels.Create(experiment.Model, device, experiment.Training.Seed);
        long tokensPerStep = (long)experiment.Training.BatchSize * experiment.Model.NCtx;

        foreach (long step in pending)
        {
            cancellation.ThrowIfCancellationRequested();
            using var loaded = step == 0 ? null : Checkpoints.LoadSequenceModel(dir.CheckpointPath(step), experiment.Model, device);
            var model = loaded ?? untrained;
            var report = ProbeRunner.Run(model, process, Options(experiment, final: false), inputs: inputs);
            SaveEmergence(writer, step, report.Sites[0]);
            writer.RecordProbe(new ProbeLine(step, step * tokensPerStep, report.Sites.Select(ProbeOutput.SiteRecord).ToArray()));
            observer.Info(string.Create(CultureInfo.InvariantCulture,
                $"step {step,7}: {report.Sites[0].Site} held-out MSE {report.Sites[0].HeldOut.Mse:G4}, R² {report.Sites[0].HeldOut.R2:F4}"));
        }

        if (!finalDone)
        {
            cancellation.ThrowIfCancellationRequested();
            using var model = Checkpoints.LoadSequenceModel(dir.CheckpointPath(finalStep), experiment.Model, device);
            var report = ProbeRunner.Run(model, process, Options(experiment, final: true), untrained, inputs);
            string emergenceSite = EmergenceSite(experiment.Model);
            var last = report.Sites.FirstOrDefault(s => s.Site == emergenceSite) ?? report.Sites[0];
            SaveEmergence(writer, finalStep, last);
            var mixture = ProcessBuilders.ComponentOfStates(process) is int[] components
                ? ProbeMixture(model, inputs, last.Site, components, Options(experiment, final: true))
                : null;
            SaveFinal(writer, report, inputs, mixture);
            writer.RecordProbe(new ProbeLine(finalStep, finalStep * tokensPerStep, report.Sites.Select(ProbeOutput.SiteRecord).ToArray()));
            foreach (var site in report.Sites)
            {
                observer.Info(string.Create(CultureInfo.InvariantCulture,
                    $"final {site.Site,-26} held-out MSE {site.HeldOut.Mse:G4}  R² {site.HeldOut.R2:F4}  shuffle {site.Shuffled.Mse:G4}  untrained {site.UntrainedMse ?? double.NaN:G4}"));
            }
        }

        TensorBoardLog.WriteProbes(writer);
        WriteSummaryProbes(writer);
    }

    /// <summary>
    /// Runs the quantum probe protocol on a finished run that has none yet (e.g. for <c>belieflens universality</c>), with
    /// the run's probe settings (Markov order, random-init networks; the defaults when its protocol was "paper").
    /// </summary>
    public static void ProbeQuantum(string dir, IRunObserver observer, CancellationToken cancellation)
    {
        var directory = new RunDirectory(dir);
        var experiment = Experiment.FromRunConfig(directory.ReadConfig());
        if (!directory.CompleteCheckpointSteps().Contains(experiment.Training.Steps))
        {
            throw new BeliefLensInputException($"run '{dir}': has no final checkpoint (step {experiment.Training.Steps}); finish it first with 'belieflens run'.");
        }

        using var writer = directory.Lock("quantum probe");
        QuantumStage(experiment, experiment.ResolveProcess(), writer, observer, cancellation);
    }

    /// <summary>
    /// The quantum paper's probe protocol on the final checkpoint (probe.protocol "quantum"), written to quantum/;
    /// skipped when already complete.
    /// </summary>
    private static void QuantumStage(Experiment experiment, Process process, RunWriter writer, IRunObserver observer, CancellationToken cancellation)
    {
        var dir = writer.Directory;
        if (dir.HasQuantumProbe)
        {
            observer.Stage("quantum probe", "already complete; skipped");
            return;
        }

        cancellation.ThrowIfCancellationRequested();
        var settings = experiment.Probe;
        observer.Stage("quantum probe", $"anchors to n_ctx {experiment.Model.NCtx}, Markov-{settings.MarkovOrder}, {settings.RandomInitNetworks} random-init networks");
        var device = Trainer.ParseDevice(experiment.Device);
        long finalStep = experiment.Training.Steps;
        using var model = Checkpoints.LoadSequenceModel(dir.CheckpointPath(finalStep), experiment.Model, device);
        var options = new QuantumProbeOptions(settings.MarkovOrder, settings.RandomInitSeeds, seed: settings.Seed);
        var report = QuantumProbe.Run(model, process, options, seed => SequenceModels.Create(experiment.Model, device, (ulong)seed), finalStep, observer.Info);
        writer.WriteQuantumProbe(report.Result, report.Predicted, report.Anchors.Beliefs, report.Anchors.Weights);
        foreach (var site in report.Result.Sites)
        {
            observer.Info(string.Create(CultureInfo.InvariantCulture,
                $"quantum {site.Site,-26} RMSE {site.Rmse:G4} (held-out {site.RmseHeldout:G4})  normalised {site.NormalizedRmse:G4}  Markov-{settings.MarkovOrder} normalised {site.MarkovNormalizedRmse:G4}  cosine R² {site.CosineR2:F4} / {site.CosineR2Markov:F4}"));
        }
    }

    /// <summary>The site's predicted belief of each distinct prefix (the report's order), as float32.</summary>
    private static void SaveEmergence(RunWriter writer, long step, SiteProbe site) =>
        writer.WriteArray(writer.Directory.Probe.EmergenceStepPath(step), site.Predicted, singlePrecision: true);

    /// <summary>
    /// For a non-ergodic mixture, two more probes from the same site (<see cref="MixtureProbes"/>): the component
    /// identity (the posterior mass of each component) and the within-component belief.
    /// </summary>
    public static MixtureResult ProbeMixture(ISequenceModel model, ProbeInputs inputs, string site, int[] componentOfState, ProbeOptions options)
    {
        var features = ProbeRunner.Activations(model, inputs, [site], Enumerable.Range(0, inputs.Length).ToArray(), options.Chunk)[site];
        var probe = MixtureProbes.Evaluate(features, inputs, componentOfState, options.Weighting, options.Seed, options.FitFraction, options.Fit);
        static MixtureScore Score(ProbeEvaluation evaluation, int dims) => new(
            dims, ProbeOutput.Num(evaluation.InSample.Mse), ProbeOutput.Num(evaluation.HeldOut.Mse), ProbeOutput.Num(evaluation.HeldOut.R2),
            ProbeOutput.Num(evaluation.Shuffled.Mse));

        return new MixtureResult(site, probe.Components, Score(probe.ComponentIdentity, probe.Components),
            Score(probe.WithinComponentBelief, componentOfState.Length));
    }

    /// <summary>Every array is per distinct prefix, in order of first appearance (<see cref="ProbeReport.DistinctInputRows"/>).</summary>
    private static void SaveFinal(RunWriter writer, ProbeReport report, ProbeInputs inputs, MixtureResult? mixture)
    {
        int[] distinct = report.DistinctInputRows;
        writer.WriteProbeResult(writer.Directory.Probe, ProbeOutput.Result(report, distinct.Length, mixture),
            report.Sites.ToDictionary(s => s.Site, s => s.Predicted), report.TrueBeliefs,
            distinct.Select(r => inputs.PrefixProbabilities[r]).ToArray(), inputs.NextToken.SelectRows(distinct));
    }

    /// <summary>Adds the final probe metrics (paper weighting, held out by sequence) to summary.json.</summary>
    public static void WriteSummaryProbes(RunWriter writer)
    {
        var dir = writer.Directory;
        var final = dir.Probe.ReadResult();
        writer.WriteSummary(dir.ReadSummary() with
        {
            Experiment = dir.ReadConfig().Experiment,
            ProbeWeighting = final.Weighting,
            Probes = final.Sites.Select(s => new SummaryProbe(s.Site, s.MseInsample, s.MseHeldout, s.R2Heldout, s.ShuffleMse, s.UntrainedMse, s.NextTokenMse)).ToArray(),
            MixtureProbes = final.Mixture,
        });
    }
}
