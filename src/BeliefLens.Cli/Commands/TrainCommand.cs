using System.Globalization;
using BeliefLens.Core;
using BeliefLens.Torch;
using Spectre.Console;
using System.ComponentModel;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens train [process|spec.json] [options] --out DIR</c></summary>
public sealed class TrainCommand : BeliefLensCommand<TrainCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[PROCESS]")]
        [Description("a built-in process name or a .json spec")]
        [DefaultValue("mess3")]
        public string Process { get; init; } = "mess3";

        [CommandOption("--config <MODEL.json>")]
        [Description("model config (TransformerLens field names); missing fields take the paper's Mess3 model")]
        public string? Config { get; init; }

        [CommandOption("--steps <N>")]
        [Description("training steps (default: the trainer's)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        public long? Steps { get; init; }

        [CommandOption("--batch <N>")]
        [Description("sequences per step (default: the trainer's)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1 << 20)]
        public int? Batch { get; init; }

        [CommandOption("--lr <X>")]
        [Description("peak learning rate (default: the trainer's)")]
        [TypeConverter(typeof(DoubleValueConverter))]
        public double? Lr { get; init; }

        [CommandOption("--seed <S>")]
        [Description("seed for initialisation and data")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        [DefaultValue(0L)]
        public long Seed { get; init; }

        [CommandOption("--device <DEVICE>")]
        [Description("cpu or cuda")]
        [DefaultValue("cpu")]
        public string Device { get; init; } = "cpu";

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: 1 for small models, else TorchSharp's choice)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--optimizer <NAME>")]
        [Description("adamw or sgd (default: the trainer's)")]
        public string? Optimizer { get; init; }

        [CommandOption("--data <KIND>")]
        [Description("sampled or exact (default: the trainer's)")]
        public string? Data { get; init; }

        [CommandOption("--log-checkpoints <N>")]
        [Description("extra log-spaced checkpoints (default: the trainer's)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0, 10_000)]
        public int? LogCheckpoints { get; init; }

        [CommandOption("--checkpoint-every <N>")]
        [Description("steps between checkpoints, 0 for none (default: the trainer's)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        public long? CheckpointEvery { get; init; }

        [CommandOption("--eval-every <N>")]
        [Description("steps between validations (default: the trainer's)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        public long? EvalEvery { get; init; }

        [CommandOption("--out <DIR>")]
        [Description("the run directory (required)")]
        public string? Out { get; init; }

        [CommandOption("--resume")]
        [Description("continue the run in --out from its last checkpoint")]
        public bool Resume { get; init; }

        [CommandOption("--force")]
        [Description("overwrite the run in --out")]
        public bool Force { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Out is null ? ValidationResult.Error("--out: is required for 'train'.")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string spec = settings.Process;
        var parameters = settings.Parameters;
        string? configPath = settings.Config;
        long? steps = settings.Steps;
        int? batch = settings.Batch;
        double? lr = settings.Lr;
        long seed = settings.Seed;
        string device = settings.Device;
        int? threads = settings.Threads;
        string? optimizer = settings.Optimizer;
        string? data = settings.Data;
        int? logCheckpoints = settings.LogCheckpoints;
        long? checkpointEvery = settings.CheckpointEvery;
        long? evalEvery = settings.EvalEvery;
        string outDir = settings.Out!;
        bool resume = settings.Resume;
        bool force = settings.Force;

        var process = ResolveProcess(spec, parameters);
        var defaults = TransformerConfig.PaperMess3(process.VocabSize);
        var model = configPath is null ? defaults : TransformerConfig.FromFile(configPath, defaults);
        if (model.DVocab != process.VocabSize)
        {
            throw new BeliefLensInputException($"--config d_vocab: {model.DVocab} does not match the process's {process.VocabSize} tokens; remove d_vocab or set it to {process.VocabSize}.");
        }

        var baseOptions = new TrainingOptions();
        var options = new TrainingOptions(
            steps: steps ?? baseOptions.Steps,
            batchSize: batch ?? baseOptions.BatchSize,
            learningRate: lr ?? baseOptions.LearningRate,
            optimizer: optimizer ?? baseOptions.Optimizer,
            seed: (ulong)seed,
            data: data ?? baseOptions.Data,
            logSpacedCheckpoints: logCheckpoints ?? baseOptions.LogSpacedCheckpoints,
            checkpointEvery: checkpointEvery ?? baseOptions.CheckpointEvery,
            evalEvery: evalEvery ?? baseOptions.EvalEvery);
        // Small models train fastest on one thread (per-op overhead dominates; extra threads only add sync cost).
        long parameterCount = (long)model.NLayers * ((4L * model.DModel * model.NHeads * model.DHead) + (2L * model.DModel * model.DMlp));
        if ((threads ?? (parameterCount < 2_000_000 ? 1 : 0)) is int n and > 0)
        {
            TorchSharp.torch.set_num_threads(n);
        }

        var run = new TrainingRun(process, spec, parameters, model, options, outDir, device);
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        TrainingSummary? summary = null;
        try
        {
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: options.Steps);
                    summary = Trainer.Run(run, resume, force, p =>
                    {
                        task.Value = p.Step;
                        string val = p.ValidationLoss is null ? string.Empty : $" val {p.ValidationLoss.Average():F4}";
                        task.Description = string.Create(CultureInfo.InvariantCulture,
                            $"step {p.Step}/{p.TotalSteps} loss {p.TrainLoss:F4}{val} floor {p.LossFloor:F4} {p.TokensPerSecond / 1000:F0}k tok/s");
                    }, cancel.Token);
                    task.Value = options.Steps;
                });
        }
        catch (TrainingDivergedException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }

        var s = summary!;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {s.Steps} steps, {s.Tokens} tokens in {s.WallSeconds:F1} s; validation loss {s.ValidationLoss:F5} vs floor {s.LossFloor:F5} nats ({(s.ValidationLoss / s.LossFloor - 1) * 100:F2}% above){(s.ExactValidation ? " [exact]" : " [sampled]")}; wrote {Path.Combine(outDir, "summary.json")}"));
        return 0;
    }

    internal static Process ResolveProcess(string spec, IReadOnlyDictionary<string, double> parameters)
    {
        return ProcessResolver.Resolve(spec, parameters); // a built-in name or a path to a .json spec
    }
}
