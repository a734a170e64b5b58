using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Core;
using BeliefLens.Torch;
using Spectre.Console;
using System.ComponentModel;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens run &lt;preset | experiment.json&gt; [--out DIR] [--seed S] [--steps N] [--set key=value]... [--long] [--force]</c></summary>
public sealed class RunCommand : BeliefLensCommand<RunCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[PRESET|EXPERIMENT.json]")]
        [Description("a preset (mess3, rrxor, z1r, mess3-mixture) or an experiment file (required)")]
        public string? Spec { get; init; }

        [CommandOption("--out <DIR>")]
        [Description("the run directory (default: runs/<experiment name>)")]
        public string? Out { get; init; }

        [CommandOption("--seed <S>")]
        [Description("training seed (overrides training.seed)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        public long? Seed { get; init; }

        [CommandOption("--steps <N>")]
        [Description("training steps; warm-up and evaluation intervals scale with it")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        public long? Steps { get; init; }

        [CommandOption("--set <KEY=VALUE>")]
        [Description("override any experiment field (repeatable), e.g. --set training.learning_rate=0.002")]
        public string[] Set { get; init; } = [];

        [CommandOption("--device <DEVICE>")]
        [Description("cpu or cuda (default: the experiment's device)")]
        public string? Device { get; init; }

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: TorchSharp's choice)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--long")]
        [Description("the preset's long schedule (presets only)")]
        public bool Long { get; init; }

        [CommandOption("--force")]
        [Description("start over in a run directory that holds a different run")]
        public bool Force { get; init; }

        public override ValidationResult Validate() => Spec is null
            ? ValidationResult.Error($"run: name a preset ({string.Join(", ", Presets.Names)}) or an experiment .json file.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string spec = settings.Spec!;
        string? outDir = settings.Out;
        long? seed = settings.Seed;
        long? steps = settings.Steps;
        var overrides = settings.Set;
        string? device = settings.Device;
        int? threads = settings.Threads;
        bool longRun = settings.Long;
        bool force = settings.Force;
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
