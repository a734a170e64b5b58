using System.Globalization;
using BeliefLens.Core;
using BeliefLens.Torch;
using Spectre.Console;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens train [process|spec.json] [options] --out DIR</c></summary>
public sealed class TrainCommand : ICommand
{
    public string Name => "train";

    public string Summary => "train a transformer on a process: train [mess3] [--param k=v] [--config model.json] [--steps N] [--batch N] [--lr X] [--seed S] [--device cpu|cuda] [--threads N] [--optimizer adamw|sgd] [--data sampled|exact] [--log-checkpoints N] [--checkpoint-every N] [--eval-every N] --out DIR [--resume|--force]";

    public int Run(CommandArguments args)
    {
        string spec = args.Positionals.Count > 0 ? args.Positionals[0] : "mess3";
        var parameters = args.Parameters();
        string? configPath = args.Option("config");
        long? steps = args.Long("steps", 1);
        int? batch = args.Int("batch", 1, 1 << 20);
        double? lr = args.Double("lr");
        long? seed = args.Long("seed", 0);
        string device = args.Option("device") ?? "cpu";
        int? threads = args.Int("threads", 1, 1024);
        string? optimizer = args.Option("optimizer");
        string? data = args.Option("data");
        int? logCheckpoints = args.Int("log-checkpoints", 0, 10_000);
        long? checkpointEvery = args.Long("checkpoint-every", 0);
        long? evalEvery = args.Long("eval-every", 1);
        string outDir = args.Required("out");
        bool resume = args.Flag("resume");
        bool force = args.Flag("force");
        args.RejectUnknown(1);

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
            seed: (ulong)(seed ?? 0),
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
