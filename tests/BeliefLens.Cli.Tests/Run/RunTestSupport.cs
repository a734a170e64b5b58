using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Torch;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>A tiny experiment (1 layer, d_model 16, n_ctx 4, 40 steps) so a whole run takes seconds on 2 cores.</summary>
internal static class TinyExperiment
{
    public static JsonObject Json(ulong seed = 7) => new()
    {
        ["experiment"] = "tiny",
        ["process"] = "mess3",
        ["process_params"] = new JsonObject { ["x"] = 0.05, ["alpha"] = 0.85 },
        ["model"] = new JsonObject
        {
            ["n_layers"] = 1, ["d_model"] = 16, ["n_heads"] = 2, ["d_head"] = 8, ["d_mlp"] = 32, ["n_ctx"] = 4, ["d_vocab"] = 3,
        },
        ["training"] = new JsonObject
        {
            ["steps"] = 40, ["batch_size"] = 16, ["learning_rate"] = 1e-2, ["warmup_steps"] = 4, ["eval_every"] = 10,
            ["checkpoint_every"] = 0, ["log_checkpoints"] = 4, ["loss_read_every"] = 5, ["seed"] = seed.ToString(CultureInfo.InvariantCulture),
        },
        ["probe"] = new JsonObject { ["max_sequences"] = 200, ["fit_fraction"] = 0.5, ["emergence_panels"] = 4 },
    };

    public static Experiment Create(ulong seed = 7) => Experiment.FromJson(Json(seed));
}

/// <summary>Records what the pipeline reports; optionally cancels training after a given step.</summary>
internal sealed class RecordingObserver(CancellationTokenSource? cancelAfter = null, long cancelStep = long.MaxValue) : IRunObserver
{
    public List<(string Name, string Detail)> Stages { get; } = [];

    public List<long> TrainingSteps { get; } = [];

    public void Stage(string name, string detail) => Stages.Add((name, detail));

    public void Training(TrainingProgress progress)
    {
        TrainingSteps.Add(progress.Step);
        if (progress.Step >= cancelStep)
        {
            cancelAfter?.Cancel();
        }
    }

    public void Info(string message)
    {
    }

    public string DetailOf(string stage) => Stages.Single(s => s.Name == stage).Detail;
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "belieflens-run-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory is harmless.
        }
    }

    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(dir.Replace(from, to, StringComparison.Ordinal));
        }

        foreach (string file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = file.Replace(from, to, StringComparison.Ordinal);
            File.Copy(file, target);
            File.SetLastWriteTimeUtc(target, File.GetLastWriteTimeUtc(file));
        }
    }
}

/// <summary>Runs Program.Main with the console captured; every caller sits in <see cref="ConsoleCollection"/>.</summary>
internal static class Cli
{
    public static (int Code, string Out, string Error) Run(params string[] args)
    {
        var originalOut = Console.Out;
        var originalError = Console.Error;
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);
        Console.SetOut(output);
        Console.SetError(error);

        // Spectre's default console keeps the writer it first saw; give it this run's writer and restore it after.
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(output) });
        try
        {
            int code = Program.Main(args);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
            Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(originalOut) });
        }
    }
}
