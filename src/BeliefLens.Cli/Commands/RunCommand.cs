using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Core;
using BeliefLens.Torch;
using Spectre.Console;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens run &lt;preset | experiment.json&gt; [--out DIR] [--seed S] [--steps N] [--set key=value]... [--long] [--force]</c></summary>
public sealed class RunCommand : ICommand
{
    public string Name => "run";

    public string Summary => $"train → probe → figures → report: run <{string.Join("|", Presets.Names)}|experiment.json> [--out DIR] [--seed S] [--steps N] [--set k=v]... [--long] [--force]";

    public int Run(CommandArguments args)
    {
        string spec = args.Positionals.Count > 0
            ? args.Positionals[0]
            : throw new BeliefLensInputException($"run: name a preset ({string.Join(", ", Presets.Names)}) or an experiment .json file.");
        string? outDir = args.Option("out");
        long? seed = args.Long("seed", 0);
        long? steps = args.Long("steps", 1);
        var overrides = args.Options("set");
        string? device = args.Option("device");
        int? threads = args.Int("threads", 1, 1024);
        bool longRun = args.Flag("long");
        bool force = args.Flag("force");
        args.RejectUnknown(1);

        var json = LoadExperimentJson(spec, longRun);
        if (seed is long s)
        {
            Experiment.ApplyOverride(json, $"training.seed={s.ToString(CultureInfo.InvariantCulture)}");
        }

        if (steps is long n)
        {
            // Keep the preset's schedule proportions: warm-up and evaluation scale with the run length.
            Experiment.ApplyOverride(json, $"training.steps={n.ToString(CultureInfo.InvariantCulture)}");
            Experiment.ApplyOverride(json, $"training.warmup_steps={Presets.WarmupFor(n).ToString(CultureInfo.InvariantCulture)}");
            Experiment.ApplyOverride(json, $"training.eval_every={Presets.EvalEveryFor(n).ToString(CultureInfo.InvariantCulture)}");
        }

        if (device is not null)
        {
            json["device"] = device;
        }

        foreach (string assignment in overrides)
        {
            Experiment.ApplyOverride(json, assignment);
        }

        var experiment = Experiment.FromJson(json);
        string dir = outDir ?? Path.Combine("runs", experiment.Name);
        if (threads is int t)
        {
            TorchSharp.torch.set_num_threads(t);
        }

        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        var observer = new ConsoleObserver();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            AnsiConsole.MarkupLine($"[bold]belieflens run[/] {Markup.Escape(experiment.Name)} → {Markup.Escape(dir)}");
            RunPipeline.Execute(experiment, dir, force, observer, cancel.Token);
        }
        catch (TrainingDivergedException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        finally
        {
            observer.Dispose();
            Console.CancelKeyPress -= onCancel;
        }

        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"[green]done[/] in {clock.Elapsed.TotalSeconds:F0} s: {Markup.Escape(RunFiles.Report(dir))}"));
        return 0;
    }

    private static JsonObject LoadExperimentJson(string spec, bool longRun)
    {
        if (Presets.Exists(spec))
        {
            return Presets.Get(spec, longRun);
        }

        if (spec.EndsWith(".json", StringComparison.OrdinalIgnoreCase) || File.Exists(spec))
        {
            if (!File.Exists(spec))
            {
                throw new BeliefLensInputException($"experiment: file '{spec}' does not exist.");
            }

            if (longRun)
            {
                throw new BeliefLensInputException("--long: applies to presets only; set training.steps in the experiment file instead.");
            }

            return JsonFields.ParseObject(File.ReadAllText(spec), spec);
        }

        return Presets.Get(spec, longRun);
    }

    /// <summary>Stage lines and a live training line on the console.</summary>
    private sealed class ConsoleObserver : IRunObserver, IDisposable
    {
        private long _lastPrintedStep = -1;
        private DateTime _lastPrint = DateTime.MinValue;

        public void Stage(string name, string detail) => AnsiConsole.MarkupLine($"[bold blue]{Markup.Escape(name)}[/]: {Markup.Escape(detail)}");

        public void Info(string message) => AnsiConsole.WriteLine("  " + message);

        public void Training(TrainingProgress p)
        {
            bool last = p.Step == p.TotalSteps;
            if (!last && p.ValidationLoss is null && DateTime.UtcNow - _lastPrint < TimeSpan.FromSeconds(5))
            {
                return;
            }

            if (p.Step == _lastPrintedStep)
            {
                return;
            }

            _lastPrintedStep = p.Step;
            _lastPrint = DateTime.UtcNow;
            string val = p.ValidationLoss is null ? string.Empty : string.Create(CultureInfo.InvariantCulture, $" val {p.ValidationLoss.Average():F4}");
            AnsiConsole.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  step {p.Step,6}/{p.TotalSteps} ({100.0 * p.Step / p.TotalSteps,5:F1}%) loss {p.TrainLoss:F4}{val} floor {p.LossFloor:F4} {p.TokensPerSecond / 1000:F0}k tok/s"));
        }

        public void Dispose()
        {
        }
    }
}
