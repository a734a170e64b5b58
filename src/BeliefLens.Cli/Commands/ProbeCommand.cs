using System.Globalization;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;
using static TorchSharp.torch;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens probe --checkpoint FILE.pt|RUN_DIR [--config train_config.json] &lt;process&gt; [--param k=v] [--sites a,b|--all-resid]
/// [--concat] [--weighting paper|prob] --out DIR</c>: linear probes from the residual stream to the belief states.
/// </summary>
public sealed class ProbeCommand : ICommand
{
    public string Name => "probe";

    public string Summary => "probe a checkpoint (or every checkpoint of a run dir): probe --checkpoint FILE.pt|RUN [--config train_config.json] <process> [--param k=v] [--sites a,b|--all-resid] [--concat] [--weighting paper|prob] [--round D] [--positions 0,9] --out DIR";

    public int Run(CommandArguments args)
    {
        string checkpoint = args.Required("checkpoint");
        string? configPath = args.Option("config");
        var parameters = args.Parameters();
        string? sitesText = args.Option("sites");
        bool allResid = args.Flag("all-resid");
        bool concat = args.Flag("concat");
        string weightingText = args.Option("weighting") ?? "paper";
        string? roundText = args.Option("round");
        string? positionsText = args.Option("positions");
        long? seed = args.Long("seed", 0);
        double? ridge = args.Double("ridge");
        double? rcond = args.Double("rcond");
        long? maxSequences = args.Long("max-sequences", 1);
        int? threads = args.Int("threads", 1, 1024);
        string deviceName = args.Option("device") ?? "cpu";
        string outDir = args.Required("out");
        args.RejectUnknown(1);

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

        var runProcess = isRunDir && args.Positionals.Count == 0 ? ProbeOutput.RunProcess(checkpoint) : null;
        string? processSpec = args.Positionals.Count > 0 ? args.Positionals[0] : runProcess?.Spec;
        if (processSpec is null)
        {
            throw new BeliefLensInputException("process: name the process the model was trained on, e.g. 'probe --checkpoint FILE.pt mess3 --out DIR'.");
        }

        var process = ProcessResolver.Resolve(processSpec, runProcess is { } rp && parameters.Count == 0 ? rp.Parameters : parameters);

        TransformerConfig config;
        ulong initSeed;
        (config, initSeed) = isRunDir
            ? ProbeOutput.ReadConfig(configPath ?? Path.Combine(checkpoint, "config.json"))
            : ProbeOutput.ResolveConfig(checkpoint, configPath);
        IReadOnlyList<string>? sites = allResid
            ? ProbeRunner.ResidualSites(config)
            : sitesText?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var baseOptions = new ProbeOptions();
        var options = new ProbeOptions(sites, concat, weighting, positions, round, maxSequences ?? baseOptions.MaxSequences, (ulong)(seed ?? 0),
            ridge: ridge ?? 0, rcond: rcond ?? AffineFitOptions.DefaultRcond,
            chooseConcatRegularisation: ridge is null && rcond is null); // an explicit --ridge/--rcond is used as given

        if (isRunDir)
        {
            var lines = ProbeOutput.ProbeRunDirectory(checkpoint, process, options, configPath, device, Console.WriteLine);
            Directory.CreateDirectory(outDir);
            string target = Path.Combine(outDir, "probes.jsonl");
            if (Path.GetFullPath(target) != Path.GetFullPath(Path.Combine(checkpoint, "probes.jsonl")))
            {
                File.Copy(Path.Combine(checkpoint, "probes.jsonl"), target, overwrite: true);
            }

            Console.WriteLine($"probed {lines.Count} checkpoints; wrote {Path.Combine(checkpoint, "probes.jsonl")}");
            return 0;
        }

        using var model = Checkpoints.LoadModel(checkpoint, config, device);
        using var untrained = new HookedTransformer(config, device, initSeed);
        var report = ProbeRunner.Run(model, process, options, untrained);
        ProbeOutput.Write(report, outDir);
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

        Console.WriteLine($"{report.Sequences} sequences ({(report.Exhaustive ? "all nonzero-probability" : "sampled")}), weighting {weightingText}; wrote {Path.Combine(outDir, "probe.json")}");
        return 0;
    }
}
