using BeliefLens.Cli.Run;
using BeliefLens.Core;
using BeliefLens.Runs;
using BeliefLens.Torch;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens composite DIR [--force]</c>: the mixture/product analyses of a finished run (what <c>run</c> does after
/// probing) into DIR/composite.json, then the report again with their figures.
/// </summary>
public sealed class CompositeCommand : BeliefLensCommand<CompositeCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[DIR]")]
        [Description("a finished run directory on a mixture or product process (required)")]
        public string? Dir { get; init; }

        [CommandOption("--force")]
        [Description("recompute composite.json even when it exists")]
        public bool Force { get; init; }

        public override ValidationResult Validate() => Dir is null
            ? ValidationResult.Error("composite: give the run directory, e.g. belieflens composite runs/coins-2.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var run = new RunDirectory(settings.Dir!);
        if (!run.HoldsRun || !run.HasSummary)
        {
            throw new BeliefLensInputException($"composite: '{settings.Dir}' is not a finished run directory (no config.json and summary.json); run it first.");
        }

        var experiment = Experiment.FromRunConfig(run.ReadConfig());
        var process = experiment.ResolveProcess();
        if (process.Composite is null)
        {
            throw new BeliefLensInputException($"composite: the run's process {process.Name} is neither a mixture nor a product; nothing to analyse.");
        }

        var observer = new PlainObserver();
        using (var writer = run.Lock())
        {
            if (settings.Force && File.Exists(run.CompositePath))
            {
                File.Delete(run.CompositePath);
            }

            CompositeStage.Run(experiment, process, writer, observer, cancellationToken);
            RunReport.Render(writer, observer);
        }

        Console.WriteLine($"wrote {run.CompositePath}");
        return 0;
    }

    private sealed class PlainObserver : IRunObserver
    {
        public void Stage(string name, string detail) => Console.WriteLine($"{name}: {detail}");

        public void Info(string message) => Console.WriteLine("  " + message);

        public void Training(TrainingProgress progress)
        {
        }
    }
}
