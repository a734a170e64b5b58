using BeliefLens.Cli.Run;
using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens report DIR</c>: re-renders the figures and report.html of a finished run without retraining.</summary>
public sealed class ReportCommand : ICommand
{
    public string Name => "report";

    public string Summary => "re-render figures and report.html from a run directory: report DIR";

    public int Run(CommandArguments args)
    {
        string dir = args.Positionals.Count > 0 ? args.Positionals[0] : throw new BeliefLensInputException("report: give the run directory, e.g. belieflens report runs/mess3.");
        args.RejectUnknown(1);
        if (!Directory.Exists(dir))
        {
            throw new BeliefLensInputException($"report: directory '{dir}' does not exist.");
        }

        Console.WriteLine($"wrote {RunReport.Render(dir)}");
        return 0;
    }
}
