using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens bench &lt;beliefs|train|probe&gt; ...</c>: speed benchmarks, one JSON line each. Speed goals live here, never in tests.</summary>
public sealed class BenchCommand : ICommand
{
    private static readonly Dictionary<string, Func<CommandArguments, int>> Benchmarks = new(StringComparer.Ordinal)
    {
        ["beliefs"] = BenchBeliefs.Run,
        ["train"] = BenchTrain.Run,
        ["probe"] = BenchProbe.Run,
    };

    public string Name => "bench";

    public string Summary => "benchmarks, one JSON line each: bench beliefs [--depth L] | bench train [--threads N] [--steps N] [--batch N] [--attention explicit|fused] | bench probe [--models DIR]";

    public int Run(CommandArguments args)
    {
        string subject = args.Positionals.Count > 0
            ? args.Positionals[0]
            : throw new BeliefLensInputException($"bench: say what to benchmark; valid: {string.Join(", ", Benchmarks.Keys)}.");
        return Benchmarks.TryGetValue(subject, out var run)
            ? run(args)
            : throw new BeliefLensInputException($"bench: unknown benchmark '{subject}'; valid: {string.Join(", ", Benchmarks.Keys)}.");
    }
}
