using System.Reflection;
using BeliefLens.Cli.Commands;
using BeliefLens.Core;
using Spectre.Console.Cli;

namespace BeliefLens.Cli;

/// <summary>
/// The <c>belieflens</c> command: Spectre.Console.Cli parses typed settings; every failure becomes one line on stderr.
/// Exit codes: 0 success, 1 I/O failure or diverged training, 2 bad input, 130 interrupted (Ctrl-C).
/// </summary>
public static class Program
{
    /// <summary>The top-level commands, in the order the help lists them.</summary>
    internal static readonly string[] CommandNames =
        ["run", "report", "composite", "processes", "beliefs", "msp", "plot-beliefs", "train", "probe", "attention", "universality", "intervene", "dimension", "bench", "sweep"];

    /// <summary>The <c>bench</c> subcommands.</summary>
    internal static readonly string[] BenchmarkNames = ["beliefs", "train", "probe", "quantum-probe", "dimension"];

    /// <summary>The <c>sweep</c> subcommands.</summary>
    internal static readonly string[] SweepNames = ["plan", "run", "task", "status", "collect"];

    public static int Main(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        try
        {
            if (args.Length == 0)
            {
                // No command is a usage error: show the overview, but exit 2 as before.
                CreateApp().Run(["--help"]);
                return 2;
            }

            return CreateApp().Run(Route(args));
        }
        catch (BeliefLensInputException ex)
        {
            return Fail(ex.Message, 2);
        }
        catch (CommandRuntimeException ex) when (ex.InnerException is OptionValueException value)
        {
            // A value Spectre could not convert: name the option it was given to.
            return Fail($"{OptionGiven(args, value.Value)}: {value.Message}", 2);
        }
        catch (CommandParseException ex)
        {
            return Fail($"{ex.Message.TrimEnd('.')}; run 'belieflens {HelpPath(args)}--help' for usage.", 2);
        }
        catch (CommandRuntimeException ex)
        {
            return Fail(ex.Message, 2); // settings validation: already one line naming the option
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted: everything up to the last checkpoint is saved; rerun the same command to continue (train needs --resume).");
            return 130;
        }
        catch (IOException ex)
        {
            return Fail(ex.Message, 1);
        }
        catch (UnauthorizedAccessException ex)
        {
            return Fail(ex.Message, 1);
        }
    }

    /// <summary>The application with every command; command types are only constructed when they run.</summary>
    internal static CommandApp CreateApp()
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            config.SetApplicationName("belieflens");
            config.SetApplicationVersion(typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev");
            config.PropagateExceptions(); // Main turns every failure into one line and an exit code
            config.ConfigureConsole(new DeferredConsole());
            config.SetHelpProvider(new DeferredHelpProvider(config.Settings));
            config.AddCommand<RunCommand>("run")
                .WithDescription("train → probe → figures → report.html, resumable; presets: mess3, rrxor, z1r, mess3-mixture")
                .WithExample("run", "mess3")
                .WithExample("run", "experiment.json", "--set", "training.learning_rate=0.002");
            config.AddCommand<ReportCommand>("report")
                .WithDescription("re-render the figures and report.html of a run directory without retraining")
                .WithExample("report", "runs/mess3");
            config.AddCommand<CompositeCommand>("composite")
                .WithDescription("mixture/product analyses of a finished run (Bayes curve, k-th event loss, factor subspaces) into composite.json and the report")
                .WithExample("composite", "runs/coins-2");
            config.AddCommand<ProcessesCommand>("processes")
                .WithDescription("list the built-in processes and their parameters, or --export one as a JSON spec")
                .WithExample("processes", "--export", "mess3", "--param", "x=0.1", "--out", "my-mess3.json");
            config.AddCommand<BeliefsCommand>("beliefs")
                .WithDescription("write the exact probability and belief of every prefix up to --depth as CSV")
                .WithExample("beliefs", "mess3", "--depth", "8", "--out", "beliefs.csv");
            config.AddCommand<MspCommand>("msp")
                .WithDescription("mixed-state presentation: state counts, entropies, entropy rate, Cμ, excess entropy")
                .WithExample("msp", "rrxor", "--depth", "12");
            config.AddCommand<PlotBeliefsCommand>("plot-beliefs")
                .WithDescription("draw the belief geometry of a process (PNG and SVG)")
                .WithExample("plot-beliefs", "mess3", "--depth", "10", "--out", "mess3.png");
            config.AddCommand<TrainCommand>("train")
                .WithDescription("train a TransformerLens-compatible transformer with exact validation against the loss floor")
                .WithExample("train", "mess3", "--steps", "2000", "--out", "runs/train-mess3");
            config.AddCommand<ProbeCommand>("probe")
                .WithDescription("linear probes from the residual stream to the belief states, with controls")
                .WithExample("probe", "--checkpoint", "model.pt", "mess3", "--out", "out/probe");
            config.AddCommand<UniversalityCommand>("universality")
                .WithDescription("the quantum paper's comparison across runs: normalised RMSE, Markov and random-init controls, cosine R², geometries")
                .WithExample("universality", "runs/mess3-lstm", "runs/mess3-gru", "--out", "out/universality");
            config.AddCommand<AttentionCommand>("attention")
                .WithDescription("how attention builds beliefs: spectrum and head count, attention by distance, OV vectors, constrained vs exact probes")
                .WithExample("attention", "runs/mess3-attn-x0.05", "--out", "out/attention-x0.05");
            config.AddCommand<InterveneCommand>("intervene")
                .WithDescription("belief steering along the probe's subspace with random, orthogonal and full-patch controls; kernel steering (transformers)")
                .WithExample("intervene", "runs/mess3", "--out", "out/steer")
                .WithExample("intervene", "--checkpoint", "model.pt", "rrxor", "--site", "blocks.3.hook_resid_post", "--out", "out/steer-rrxor");
            config.AddCommand<DimensionCommand>("dimension")
                .WithDescription("fractal dimension of the belief geometry: h_μ, Lyapunov spectrum, d_LY, box-counting and correlation dimensions")
                .WithExample("dimension", "mess3", "--param", "x=0.15", "--param", "alpha=0.6")
                .WithExample("dimension", "runs/mess3");
            config.AddBranch("bench", bench =>
            {
                bench.SetDescription("speed benchmarks, one JSON line each");
                bench.AddCommand<BenchBeliefs>("beliefs").WithDescription("exact belief enumeration (median of --runs)");
                bench.AddCommand<BenchTrain>("train").WithDescription("training throughput of the paper's Mess3 model");
                bench.AddCommand<BenchProbe>("probe").WithDescription("one affine fit, and probing the paper's Mess3 checkpoints");
                bench.AddCommand<BenchQuantumProbe>("quantum-probe").WithDescription("the quantum paper's probe fit: 53 cutoffs × 10 folds on 9,840 × 256");
                bench.AddCommand<BenchDimension>("dimension").WithDescription("chaos-game steps of the belief IFS with the Lyapunov spectrum (median of --runs)");
            });
            config.AddBranch("sweep", sweep =>
            {
                sweep.SetDescription("many runs from one spec, on this machine or a Slurm cluster, compared in one report");
                sweep.AddCommand<SweepPlanCommand>("plan").WithDescription("expand a YAML/JSON spec into SWEEP/manifest.jsonl (stable job ids)")
                    .WithExample("sweep", "plan", "examples/sweeps/mess3-seeds-x.yaml", "--out", "sweeps/mess3");
                sweep.AddCommand<SweepRunCommand>("run").WithDescription("run every unfinished job: --backend local (child processes) or slurm (sbatch array)")
                    .WithExample("sweep", "run", "sweeps/mess3", "--backend", "local", "--parallel", "2")
                    .WithExample("sweep", "run", "sweeps/mess3", "--backend", "slurm", "--partition", "cpu", "--time", "02:00:00");
                sweep.AddCommand<SweepTaskCommand>("task").WithDescription("run one job of the manifest under its lock (what each Slurm array task runs)");
                sweep.AddCommand<SweepStatusCommand>("status").WithDescription("done, running, failed and pending jobs, with squeue/sacct where present");
                sweep.AddCommand<SweepCollectCommand>("collect").WithDescription("results.csv, results.parquet and the comparison report.html");
            });
        });
        return app;
    }

    /// <summary>
    /// Checks the command (and benchmark) name before Spectre parses, so an unknown one gets a line listing the valid
    /// ones; maps <c>help [command]</c> to <c>--help</c>.
    /// </summary>
    private static string[] Route(string[] args)
    {
        string first = args[0];
        if (first is "help")
        {
            return [.. args[1..], "--help"];
        }

        if (first.StartsWith('-'))
        {
            return first is "-h" or "--help" or "-?" or "-v" or "--version"
                ? args
                : throw new BeliefLensInputException($"{first}: give a command first; valid commands are {string.Join(", ", CommandNames)} (belieflens --help).");
        }

        if (!CommandNames.Contains(first, StringComparer.Ordinal))
        {
            throw new BeliefLensInputException($"unknown command '{first}'; valid commands are {string.Join(", ", CommandNames)}.");
        }

        if (first is "sweep")
        {
            string? verb = args.Length > 1 ? args[1] : null;
            if (verb is null || (verb.StartsWith('-') && verb is not ("-h" or "--help" or "-?")))
            {
                throw new BeliefLensInputException($"sweep: say what to do; valid: {string.Join(", ", SweepNames)}.");
            }

            if (!verb.StartsWith('-') && !SweepNames.Contains(verb, StringComparer.Ordinal))
            {
                throw new BeliefLensInputException($"sweep: unknown subcommand '{verb}'; valid: {string.Join(", ", SweepNames)}.");
            }
        }

        if (first is "bench")
        {
            string? subject = args.Length > 1 ? args[1] : null;
            if (subject is null || (subject.StartsWith('-') && subject is not ("-h" or "--help" or "-?")))
            {
                throw new BeliefLensInputException($"bench: say what to benchmark; valid: {string.Join(", ", BenchmarkNames)}.");
            }

            if (!subject.StartsWith('-') && !BenchmarkNames.Contains(subject, StringComparer.Ordinal))
            {
                throw new BeliefLensInputException($"bench: unknown benchmark '{subject}'; valid: {string.Join(", ", BenchmarkNames)}.");
            }
        }

        return args;
    }

    /// <summary>The command words of <paramref name="args"/> (e.g. <c>bench train </c>), for a usage hint.</summary>
    private static string HelpPath(string[] args) =>
        string.Concat(args.TakeWhile(a => CommandNames.Contains(a, StringComparer.Ordinal) || (args[0] == "bench" && BenchmarkNames.Contains(a, StringComparer.Ordinal)) || (args[0] == "sweep" && SweepNames.Contains(a, StringComparer.Ordinal))).Take(2).Select(a => a + " "));

    /// <summary>The option a failed value was given to (<c>--name value</c> or <c>--name=value</c>), for the error line.</summary>
    private static string OptionGiven(string[] args, string value)
    {
        for (int k = 0; k < args.Length; k++)
        {
            string arg = args[k];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                continue;
            }

            int separator = arg.IndexOfAny(['=', ':']);
            if (separator > 0 ? arg[(separator + 1)..] == value : k + 1 < args.Length && args[k + 1] == value)
            {
                return separator > 0 ? arg[..separator] : arg;
            }
        }

        return "value";
    }

    /// <summary>One line on stderr: Spectre's messages can span lines, the CLI's contract is one.</summary>
    private static int Fail(string message, int exitCode)
    {
        string line = string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Console.Error.WriteLine($"error: {line}");
        return exitCode;
    }
}
