using System.Globalization;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;
using static TorchSharp.torch;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens probe --checkpoint FILE.pt|RUN_DIR [--config train_config.json] &lt;process&gt; [--param k=v] [--sites a,b|--all-resid]
/// [--concat] [--weighting paper|prob] --out DIR</c>: linear probes from the residual stream to the belief states.
/// </summary>
public sealed class ProbeCommand : BeliefLensCommand<ProbeCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[PROCESS]")]
        [Description("the process the model was trained on (default for a run directory: the run's)")]
        public string? Process { get; init; }

        [CommandOption("--checkpoint <FILE.pt|RUN>")]
        [Description("a PyTorch state dict, or a run directory to probe every checkpoint (required)")]
        public string? Checkpoint { get; init; }

        [CommandOption("--config <TRAIN_CONFIG.json>")]
        [Description("model config (default: beside the checkpoint)")]
        public string? Config { get; init; }

        [CommandOption("--sites <A,B>")]
        [Description("comma-separated hook sites (default: the last residual stream)")]
        public string? Sites { get; init; }

        [CommandOption("--all-resid")]
        [Description("probe every residual-stream site")]
        public bool AllResid { get; init; }

        [CommandOption("--concat")]
        [Description("also probe the concatenation of the sites")]
        public bool Concat { get; init; }

        [CommandOption("--weighting <KIND>")]
        [Description("paper (every sequence × position once) or prob (weighted by probability)")]
        [DefaultValue("paper")]
        public string Weighting { get; init; } = "paper";

        [CommandOption("--round <D>")]
        [Description("round targets to D decimals, or none (default: 5 for paper weighting, none for prob)")]
        public string? Round { get; init; }

        [CommandOption("--positions <0,9>")]
        [Description("0-based positions to probe (default: all)")]
        public string? Positions { get; init; }

        [CommandOption("--seed <S>")]
        [Description("seed for the fit/held-out split and controls")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        [DefaultValue(0L)]
        public long Seed { get; init; }

        [CommandOption("--ridge <X>")]
        [Description("ridge penalty (default: 0; chosen by validation for the concatenation)")]
        [TypeConverter(typeof(DoubleValueConverter))]
        public double? Ridge { get; init; }

        [CommandOption("--rcond <X>")]
        [Description("relative singular-value cut-off of the least-squares fit (default: the fit's)")]
        [TypeConverter(typeof(DoubleValueConverter))]
        public double? Rcond { get; init; }

        [CommandOption("--max-sequences <N>")]
        [Description("sample this many sequences when there are more (default: the prober's)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        public long? MaxSequences { get; init; }

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: TorchSharp's choice)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("cpu or cuda")]
        [DefaultValue("cpu")]
        public string Device { get; init; } = "cpu";

        [CommandOption("--protocol <NAME>")]
        [Description("paper (default) or quantum: the quantum paper's anchors, 10-fold SVD-cutoff fit, random-init and Markov-M controls, on the final checkpoint")]
        [DefaultValue("paper")]
        public string Protocol { get; init; } = "paper";

        [CommandOption("--markov-order <M>")]
        [Description("quantum protocol: order of the Markov approximation probed as a control")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 8)]
        [DefaultValue(3)]
        public int MarkovOrder { get; init; } = 3;

        [CommandOption("--random-init <N>")]
        [Description("quantum protocol: random-init control networks")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 100)]
        [DefaultValue(10)]
        public int RandomInit { get; init; } = 10;

        [CommandOption("--random-init-seed <S>")]
        [Description("quantum protocol: seed of the first random-init network (the others follow)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        [DefaultValue(1000L)]
        public long RandomInitSeed { get; init; } = 1000;

        [CommandOption("--out <DIR>")]
        [Description("the output directory (required)")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Checkpoint is null ? ValidationResult.Error("--checkpoint: is required for 'probe'.")
                : Out is null ? ValidationResult.Error("--out: is required for 'probe'.")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string checkpoint = settings.Checkpoint!;
        string? configPath = settings.Config;
        var parameters = settings.Parameters;
        string? sitesText = settings.Sites;
        bool allResid = settings.AllResid;
        bool concat = settings.Concat;
        string weightingText = settings.Weighting;
        string? roundText = settings.Round;
        string? positionsText = settings.Positions;
        long seed = settings.Seed;
        double? ridge = settings.Ridge;
        double? rcond = settings.Rcond;
        long? maxSequences = settings.MaxSequences;
        int? threads = settings.Threads;
        string deviceName = settings.Device;
        string outDir = settings.Out!;

        if (sitesText is not null && allResid)
        {
            throw new BeliefLensInputException("--sites and --all-resid: give one of them, not both.");
        }

        var weighting = weightingText switch
        {
            "paper" => ProbeWeighting.Paper,
            "prob" => ProbeWeighting.Prob,
            _ => throw new BeliefLensInputException($"--weighting: '{weightingText}' is not valid; use paper or prob."),
        };

        // The paper rounds its targets to 5 decimals; prob weighting uses exact beliefs unless told otherwise.
        int? round = roundText is null
            ? (weighting == ProbeWeighting.Paper ? 5 : null)
            : roundText == "none" ? null
            : int.TryParse(roundText, NumberStyles.None, CultureInfo.InvariantCulture, out int r) ? r
            : throw new BeliefLensInputException($"--round: '{roundText}' must be a number of decimals (0..15) or none.");
        int[]? positions = positionsText?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int j) ? j
                : throw new BeliefLensInputException($"--positions: '{p}' is not a position; give 0-based positions like 0,4,9."))
            .ToArray();
        if (threads is int n)
        {
            TorchSharp.torch.set_num_threads(n);
        }

        var device = deviceName switch
        {
            "cpu" => CPU,
            "cuda" when cuda.is_available() => CUDA,
            "cuda" => throw new BeliefLensInputException("--device cuda: no CUDA device is available; use --device cpu."),
            _ => throw new BeliefLensInputException($"--device: '{deviceName}' is not valid; use cpu or cuda."),
        };

        bool isRunDir = Directory.Exists(checkpoint);
        if (!isRunDir && !File.Exists(checkpoint))
        {
            throw new BeliefLensInputException($"--checkpoint: '{checkpoint}' does not exist; give a .pt state dict or a run directory.");
        }

        // The model, the untrained control's seed and the process: --config, else what the run or the checkpoint's sidecar recorded.
        var source = isRunDir ? new RunDirectory(checkpoint) : null;
        var info = FlagNames.Rephrase(
            () => source is not null ? ProbeOutput.DescribeRun(source, configPath) : ProbeOutput.DescribeCheckpoint(checkpoint, configPath),
            ("config", "--config"), ("checkpoint", "--checkpoint"));
        string? processSpec = settings.Process ?? info.ProcessSpec;
        if (processSpec is null)
        {
            throw new BeliefLensInputException("process: name the process the model was trained on, e.g. 'probe --checkpoint FILE.pt mess3 --out DIR'.");
        }

        bool recordedProcess = parameters.Count == 0 && processSpec == info.ProcessSpec && info.ProcessParameters is not null;
        var process = ProcessResolver.Resolve(processSpec, recordedProcess ? info.ProcessParameters! : parameters);
        var config = info.Config;
        if (settings.Protocol == "quantum")
        {
            return ProbeQuantum(settings, source, checkpoint, config, process, device, outDir);
        }

        if (settings.Protocol != "paper")
        {
            throw new BeliefLensInputException($"--protocol: '{settings.Protocol}' is not valid; use paper or quantum.");
        }

        IReadOnlyList<string>? sites = allResid
            ? ProbeRunner.ResidualSites(config)
            : sitesText?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var baseOptions = new ProbeOptions();
        var options = FlagNames.Rephrase(
            () => new ProbeOptions(sites, concat, weighting, positions, round, maxSequences ?? baseOptions.MaxSequences, (ulong)seed,
                ridge: ridge ?? 0, rcond: rcond ?? AffineFitOptions.DefaultRcond,
                chooseConcatRegularisation: ridge is null && rcond is null), // an explicit --ridge/--rcond is used as given
            ("probe.sites", "--sites"), ("probe.positions", "--positions"), ("probe.round_decimals", "--round"), ("probe.max_sequences", "--max-sequences"),
            ("ridge", "--ridge"), ("rcond", "--rcond"));

        var output = new RunDirectory(outDir);
        if (source is not null && Path.TrimEndingDirectorySeparator(Path.GetFullPath(source.Path)) == Path.TrimEndingDirectorySeparator(Path.GetFullPath(outDir)))
        {
            throw new BeliefLensInputException("--out: is the run directory being probed; give another directory (the run's probes.jsonl belongs to the run).");
        }

        using var writer = output.Lock();
        if (source is not null)
        {
            int count = FlagNames.Rephrase(
                () => ProbeOutput.ProbeRunDirectory(source, writer, process, options, info, device, Console.WriteLine), ("checkpoint", "--checkpoint"));
            Console.WriteLine($"probed {count} checkpoints; wrote {output.ProbesPath}");
            return 0;
        }

        using var model = Checkpoints.LoadSequenceModel(checkpoint, config, device);
        using var untrained = SequenceModels.Create(config, device, info.Seed);
        var report = ProbeRunner.Run(model, process, options, untrained);
        ProbeOutput.Write(report, writer);
        foreach (var site in report.Sites.Where(s => s.Warning is not null))
        {
            Console.Error.WriteLine($"warning: {site.Site}: {site.Warning}");
        }

        Console.WriteLine($"{"site",-28} {"dims",5} {"rows",8} {"mse_in",10} {"mse_held",10} {"r2_in",8} {"shuffle",9} {"next_tok",9} {"untrained",9}");
        foreach (var s in report.Sites)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Site,-28} {s.Dims,5} {s.Rows,8} {s.InSample.Mse,10:G5} {s.HeldOut.Mse,10:G5} {s.InSample.R2,8:F5} {s.Shuffled.Mse,9:G4} {s.NextToken?.Mse,9:G4} {s.UntrainedMse,9:G4}"));
        }

        Console.WriteLine($"{report.Sequences} sequences ({(report.Exhaustive ? "all nonzero-probability" : "sampled")}), weighting {weightingText}; wrote {output.ProbeAtRoot.ResultPath}");
        PrintCompositeProbes(model, process, options, report.Sites[^1].Site);
        return 0;
    }

    /// <summary>
    /// The quantum paper's protocol on one checkpoint (a run directory's last complete one), written to DIR/quantum/.
    /// </summary>
    private static int ProbeQuantum(Settings settings, RunDirectory? source, string checkpoint, TransformerConfig config, Process process, Device device, string outDir)
    {
        if (settings.Sites is not null || settings.AllResid || settings.Concat || settings.Positions is not null)
        {
            throw new BeliefLensInputException("--protocol quantum: probes its own sites (input, every layer, final norm, concat); drop --sites/--all-resid/--concat/--positions.");
        }

        long step = 0;
        if (source is not null)
        {
            var steps = source.CompleteCheckpointSteps();
            step = steps.Count > 0 ? steps[^1] : throw new BeliefLensInputException($"--checkpoint: run '{source.Path}' has no complete checkpoint yet.");
            checkpoint = source.CheckpointPath(step);
        }
        else if (RunDirectory.ReadSidecarOf(checkpoint) is { } sidecar)
        {
            step = sidecar.Step;
        }

        var output = new RunDirectory(outDir);
        using var writer = output.Lock("probe --protocol quantum");
        using var model = Checkpoints.LoadSequenceModel(checkpoint, config, device);
        var seeds = Enumerable.Range(0, settings.RandomInit).Select(i => settings.RandomInitSeed + i).ToArray();
        var options = new QuantumProbeOptions(settings.MarkovOrder, seeds, seed: (ulong)settings.Seed);
        var report = FlagNames.Rephrase(
            () => QuantumProbe.Run(model, process, options, seed => SequenceModels.Create(config, device, (ulong)seed), step, Console.WriteLine),
            ("probe.markov_order", "--markov-order"), ("probe.random_init_seeds", "--random-init-seed"));
        writer.WriteQuantumProbe(report.Result, report.Predicted, report.Anchors.Beliefs, report.Anchors.Weights);
        Console.WriteLine($"{"site",-28} {"dims",5} {"rmse",10} {"rmse_held",10} {"random",10} {"norm",8} {"markov",10} {"m_norm",8} {"cos_r2",8} {"cos_r2_m",8}");
        foreach (var s in report.Result.Sites)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{s.Site,-28} {s.Dims,5} {s.Rmse,10:G4} {s.RmseHeldout,10:G4} {s.RandomInitRmse,10:G4} {s.NormalizedRmse,8:F4} {s.MarkovRmse,10:G4} {s.MarkovNormalizedRmse,8:F4} {s.CosineR2,8:F4} {s.CosineR2Markov,8:F4}"));
        }

        Console.WriteLine($"{report.Result.Anchors} anchors (prefixes of length 1..{report.Result.NCtx}), Markov-{report.Result.MarkovOrder} with {report.Result.MarkovStates} states, {seeds.Length} random-init networks; wrote {output.QuantumProbePath}");
        return 0;
    }

    /// <summary>The second level of a composite process, from the last probed site: meta-belief or factored vs joint probes.</summary>
    private static void PrintCompositeProbes(ISequenceModel model, Process process, ProbeOptions options, string site)
    {
        if (process.Composite is not { } composite || site.Contains('+', StringComparison.Ordinal))
        {
            return;
        }

        var inputs = ProbeInputs.Build(process, model.Config.NCtx, options.MaxSequences, options.Seed);
        if (composite.Kind == CompositeKind.Mixture && ProcessBuilders.ComponentOfStates(process) is int[] components)
        {
            var mixture = BeliefLens.Cli.Run.RunPipeline.ProbeMixture(model, inputs, site, components, options);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{site}: meta-belief (component posterior) held-out R² {mixture.ComponentIdentity.R2Heldout:F5}, within-component belief R² {mixture.WithinComponentBelief.R2Heldout:F5}"));
        }
        else if (composite.Kind == CompositeKind.Product)
        {
            var features = ProbeRunner.Activations(model, inputs, [site], Enumerable.Range(0, inputs.Length).ToArray(), options.Chunk)[site];
            var probe = FactoredAnalysis.Evaluate(features, inputs, options.Weighting, options.Seed, options.FitFraction, options.Fit);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{site}: factored beliefs held-out R² {probe.Factored.HeldOut.R2:F5}, joint belief R² {probe.Joint.HeldOut.R2:F5}, per factor {string.Join(", ", probe.PerFactor.Select(f => f.HeldOut.R2.ToString("F4", CultureInfo.InvariantCulture)))}"));
        }
    }
}
