using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// Base of the <c>belieflens bench &lt;beliefs|train|probe&gt;</c> commands: speed benchmarks, one JSON line each.
/// Speed goals live here, never in tests.
/// </summary>
public abstract class BenchCommand<TSettings> : BeliefLensCommand<TSettings>
    where TSettings : CommandSettings
{
    protected override string UsagePath(CommandContext context) => "bench " + context.Name;
}
