using BeliefLens.Cli.Run;
using BeliefLens.Core;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens report DIR</c>: re-renders the figures and report.html of a finished run without retraining.</summary>
public sealed class ReportCommand : BeliefLensCommand<ReportCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[DIR]")]
        [Description("the run directory (required)")]
        public string? Dir { get; init; }

        public override ValidationResult Validate() => Dir is null
            ? ValidationResult.Error("report: give the run directory, e.g. belieflens report runs/mess3.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string dir = settings.Dir!;
        if (!Directory.Exists(dir))
        {
            throw new BeliefLensInputException($"report: directory '{dir}' does not exist.");
        }

        Console.WriteLine($"wrote {RunReport.Render(dir)}");
        return 0;
    }
}
