using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Reporting;
using BeliefLens.Runs;
using BeliefLens.Torch;
using BeliefLens.Torch.Interventions;
using BeliefLens.Torch.Probing;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens intervene RUN_DIR | --checkpoint F.pt &lt;process&gt; [--site S]... [--pairs N] --out DIR</c>: belief
/// steering along the probe's subspace with its controls, and kernel steering where beliefs share a next-token
/// distribution. Transformer models only (edits go through <see cref="HookedTransformer.RunWithHooks"/>).
/// </summary>
public sealed class InterveneCommand : BeliefLensCommand<InterveneCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[RUN_DIR|PROCESS]")]
        [Description("a run directory; with --checkpoint, the process the model was trained on")]
        public string? Target { get; init; }

        [CommandOption("--checkpoint <FILE.pt>")]
        [Description("a checkpoint (ours with its sidecar, or the paper's with train_config.json beside it) instead of a run directory")]
        public string? Checkpoint { get; init; }

        [CommandOption("--site <S>")]
        [Description("a residual-stream hook site to steer at (repeatable; default: every probed site of the run, or every residual site)")]
        public string[] Site { get; init; } = [];

        [CommandOption("--pairs <N>")]
        [Description("prefix pairs (A, B) per site")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 100_000)]
        [DefaultValue(256)]
        public int Pairs { get; init; } = 256;

        [CommandOption("--seed <S>")]
        [Description("seed of the pair sample and the control directions")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        [DefaultValue(0L)]
        public long Seed { get; init; }

        [CommandOption("--max-sequences <N>")]
        [Description("the probe is refitted on all sequences of length n_ctx when there are at most this many, else on this many sampled")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        [DefaultValue(1L << 20)]
        public long MaxSequences { get; init; } = 1L << 20;

        [CommandOption("--out <DIR>")]
        [Description("where interventions.json, figures/ and report.html go (required)")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Out is null ? ValidationResult.Error("--out: is required (the directory for interventions.json and its figures).")
                : Target is null ? ValidationResult.Error(Checkpoint is null
                    ? "target: give a run directory, or --checkpoint FILE.pt and the process, e.g. 'belieflens intervene runs/mess3 --out out/steer'."
                    : "process: name the process the checkpoint was trained on, e.g. 'intervene --checkpoint F.pt mess3 --out DIR'.")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string checkpointPath;
        CheckpointInfo info;
        Process process;
        IReadOnlyList<string> sites;
        string probeSource;
        if (settings.Checkpoint is string checkpoint)
        {
            if (!File.Exists(checkpoint))
            {
                throw new BeliefLensInputException($"--checkpoint: '{checkpoint}' does not exist; give a .pt state dict.");
            }

            info = FlagNames.Rephrase(() => ProbeOutput.DescribeCheckpoint(checkpoint, null), ("config", "--checkpoint"), ("checkpoint", "--checkpoint"));
            process = ProcessResolver.Resolve(settings.Target!, settings.Parameters);
            checkpointPath = checkpoint;
            sites = settings.Site.Length > 0 ? settings.Site : ProbeRunner.ResidualSites(info.Config);
            CheckSites(sites, info.Config);
            probeSource = "fitted here: affine least squares from each site to the beliefs, every (sequence, position) row, unweighted";
        }
        else
        {
            var run = new RunDirectory(settings.Target!);
            if (!run.HoldsRun)
            {
                throw new BeliefLensInputException($"target: '{settings.Target}' is not a run directory (no config.json); give a run directory or --checkpoint FILE.pt PROCESS.");
            }

            if (settings.Parameters.Count > 0)
            {
                throw new BeliefLensInputException("--param: a run directory's process comes from its config.json; drop --param.");
            }

            var config = run.ReadConfig();
            info = ProbeOutput.DescribeRun(run, null);
            process = ProcessResolver.Resolve(config.Process, config.ProcessParams);
            var steps = run.CompleteCheckpointSteps();
            if (steps.Count == 0)
            {
                throw new BeliefLensInputException($"target: {run.Path} has no complete checkpoint; train it first ('belieflens run').");
            }

            checkpointPath = run.CheckpointPath(steps[^1]);
            if (!run.Probe.IsComplete)
            {
                throw new BeliefLensInputException($"probe: {run.Path} has no finished probe (probe/probe.json); run 'belieflens run' on it to probe, or use --checkpoint {checkpointPath} {config.Process} to fit probes here.");
            }

            var probed = run.Probe.ReadResult().Sites.Select(s => s.Site).Where(s => s != ProbeRunner.ConcatSite).ToList();
            sites = settings.Site.Length > 0 ? settings.Site : probed;
            CheckSites(sites, info.Config);
            foreach (string site in sites.Where(s => !probed.Contains(s)))
            {
                throw new BeliefLensInputException(
                    $"--site: no probe for {site} in {run.Probe.ResultPath} (probed: {string.Join(", ", probed)}); probe it with 'belieflens run' and --set probe.sites=..., or steer with --checkpoint {checkpointPath} {config.Process} --site {site}, which fits the probe here.");
            }

            probeSource = $"the run's probe sites ({run.Probe.ResultPath}); its records hold metrics, not weights, so the same affine map is refitted here on every (sequence, position) row, unweighted";
        }

        if (process.VocabSize != info.Config.DVocab)
        {
            throw new BeliefLensInputException($"process: {process.Name} has {process.VocabSize} tokens but the model's d_vocab is {info.Config.DVocab}; give the process the model was trained on.");
        }

        ulong seed = (ulong)settings.Seed;
        using var model = Checkpoints.LoadModel(checkpointPath, info.Config);
        model.eval();
        Console.WriteLine($"fitting probes at {sites.Count} sites of {checkpointPath} …");
        var probes = BeliefSteering.FitProbes(model, process, sites, settings.MaxSequences, seed);
        var pairs = PrefixPairs.BeliefPairs(process, settings.Pairs, info.Config.NCtx, seed);
        var kernelPairs = PrefixPairs.KernelPairs(process, settings.Pairs, info.Config.NCtx - 1, seed + 1);
        var results = new List<SiteSteering>();
        foreach (var probe in probes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var result = BeliefSteering.Steer(model, process, probe, pairs, kernelPairs, seed);
            results.Add(result);
            string line = string.Create(CultureInfo.InvariantCulture,
                $"{result.Site,-28} gap closed {result.GapClosedMean,7:F3} (along encoding {result.GapClosedEncoding,7:F3} vs random {result.GapClosedEncodingRandom,7:F3} at its norm; random {result.GapClosedRandom,7:F3}, orthogonal {result.GapClosedOrthogonal,7:F3}, full patch {result.GapClosedFullPatch,7:F3}); KL {result.KlBeforeMean:G4} → {result.KlAfterMean:G4}");
            if (result.Kernel is { Pairs: > 0 } k)
            {
                line += string.Create(CultureInfo.InvariantCulture, $"; kernel: next-token KL shift {k.NextTokenKlShiftMean:G3}, two-step KL {k.TwoStepKlBeforeMean:G4} → {k.TwoStepKlAfterMean:G4} (along encoding: shift {k.NextTokenKlShiftEncodingMean:G3}, two-step → {k.TwoStepKlAfterEncodingMean:G4})");
            }

            Console.WriteLine(line);
        }

        var report = new InterventionReport(
            Path.GetFullPath(checkpointPath), process.Name, seed.ToString(CultureInfo.InvariantCulture), settings.Pairs, PrefixPairs.MinBeliefDistance,
            SiteSteering.MinKlBefore, probeSource, "transformer (HookedTransformer) models only", results);
        string outDir = settings.Out!;
        Directory.CreateDirectory(outDir);
        string json = JsonSerializer.Serialize(report, CommandJson.Options) + "\n";
        CsvFiles.WriteAtomically(Path.Combine(outDir, "interventions.json"), w => w.Write(json));
        string html = InterventionReportPage.Render(report, Path.Combine(outDir, "figures"), process.TokenNames);
        CsvFiles.WriteAtomically(Path.Combine(outDir, "report.html"), w => w.Write(html));
        Console.WriteLine($"wrote {Path.Combine(outDir, "interventions.json")}, {Path.Combine(outDir, "report.html")}");
        return 0;
    }

    private static void CheckSites(IReadOnlyList<string> sites, TransformerConfig config)
    {
        var valid = HookedTransformer.ModelWidthHookNamesFor(config);
        foreach (string site in sites)
        {
            if (!valid.Contains(site))
            {
                throw new BeliefLensInputException($"--site: '{site}' is not a d_model-wide hook site of this model; valid: {string.Join(", ", valid)}.");
            }
        }

        if (sites.Distinct(StringComparer.Ordinal).Count() != sites.Count)
        {
            throw new BeliefLensInputException("--site: a site is listed twice; list each once.");
        }
    }
}
