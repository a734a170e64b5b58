using System.Globalization;
using System.Text.Json;
using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens msp &lt;process&gt; --depth L [--out FILE.json]</c>: the mixed-state presentation summary.</summary>
public sealed class MspCommand : ICommand
{
    public string Name => "msp";

    public string Summary => "mixed-state presentation: state counts, entropies, entropy rate, Cμ, excess entropy";

    public int Run(CommandArguments args)
    {
        if (args.Positionals.Count == 0)
        {
            throw new BeliefLensInputException("process: give a built-in name or a .json spec, e.g. 'belieflens msp rrxor --depth 12'.");
        }

        var parameters = args.Parameters();
        int depth = args.Int("depth", min: 0) ?? throw new BeliefLensInputException("--depth: is required for 'msp' (how many tokens to search, e.g. --depth 10).");
        double tolerance = args.Double("tolerance") ?? MixedStatePresentation.DefaultTolerance;
        int maxStates = args.Int("max-states", min: 1) ?? MixedStatePresentation.DefaultMaxStates;
        int? context = args.Int("context", min: 1);
        string? output = args.Option("out");
        bool bos = args.Flag("bos");
        args.RejectUnknown(1);
        var process = ProcessResolver.Resolve(args.Positionals[0], parameters);
        if (bos)
        {
            process = ProcessBuilders.WithBos(process);
        }

        var msp = MixedStatePresentation.Build(process, depth, tolerance, maxStates);
        var summary = MspSummary.From(msp, context ?? Math.Min(depth - 1, 10));
        PrintTable(summary);
        if (output is not null)
        {
            string json = JsonSerializer.Serialize(summary, MspSummary.JsonOptions);
            CsvFiles.WriteAtomically(output, writer => writer.Write(json + "\n"));
            Console.WriteLine($"wrote {output}");
        }

        return 0;
    }

    private static void PrintTable(MspSummary s)
    {
        static string F(double? value) => value is double d ? d.ToString("F6", CultureInfo.InvariantCulture) : "n/a";
        Console.WriteLine($"process           {s.Process} ({s.Kind}, {s.HiddenStates} hidden states, {s.Tokens} tokens)");
        Console.WriteLine($"search depth      {s.Depth} (merge tolerance {s.Tolerance.ToString("R", CultureInfo.InvariantCulture)})");
        Console.WriteLine($"MSP states        {s.MspStates} ({(s.Finite ? "finite" : "truncated at depth limit")}): {s.RecurrentStates} recurrent, {s.TransientStates} transient, {s.UnresolvedStates} unresolved");
        Console.WriteLine($"entropy rate      {F(s.EntropyRate)} nats ({s.EntropyRateSource})");
        Console.WriteLine($"Cμ                {F(s.StatisticalComplexity)} nats");
        Console.WriteLine($"excess entropy    {F(s.ExcessEntropy)} nats (partial sum to depth {s.Depth})");
        if (s.LossFloor.Length > 0)
        {
            Console.WriteLine($"loss floor n={s.LossFloor.Length,-3}  mean {F(s.LossFloorMean)} nats (positions 1..{s.LossFloor.Length - 1}: {F(s.LossFloorMeanAfterFirst)})");
        }

        Console.WriteLine("  L       H(L)       h(L)");
        for (int l = 1; l <= s.Depth; l++)
        {
            Console.WriteLine($"{l,3} {F(s.BlockEntropies[l]),10} {F(s.MyopicEntropies[l - 1]),10}");
        }
    }
}

/// <summary>The JSON written by <c>msp --out</c>; entropies in nats.</summary>
public sealed record MspSummary(
    string Process,
    string Kind,
    int HiddenStates,
    int Tokens,
    int Depth,
    double Tolerance,
    int MspStates,
    bool Finite,
    int RecurrentStates,
    int TransientStates,
    int UnresolvedStates,
    double[] BlockEntropies,
    double[] MyopicEntropies,
    double EntropyRate,
    string EntropyRateSource,
    double? StatisticalComplexity,
    double ExcessEntropy,
    double[] LossFloor,
    double? LossFloorMean,
    double? LossFloorMeanAfterFirst)
{
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static MspSummary From(MixedStatePresentation msp, int context)
    {
        ArgumentNullException.ThrowIfNull(msp);
        var floor = context >= 1 && context < msp.Depth ? msp.LossFloor(context) : []; // n_ctx needs depth n_ctx + 1
        return new MspSummary(
            msp.Process.Name,
            msp.Process.Kind == ProcessKind.Hmm ? "hmm" : "ghmm",
            msp.Process.StateCount,
            msp.Process.VocabSize,
            msp.Depth,
            msp.Tolerance,
            msp.StateCount,
            msp.IsComplete,
            msp.RecurrentCount,
            msp.TransientCount,
            msp.StateCount - msp.RecurrentCount - msp.TransientCount,
            msp.BlockEntropies(),
            msp.MyopicEntropies,
            msp.EntropyRate,
            msp.ExactEntropyRate is null ? $"h({msp.Depth}), not exact" : "exact, recurrent MSP",
            msp.StatisticalComplexity,
            msp.ExcessEntropy,
            floor,
            floor.Length > 0 ? floor.Average() : null,
            floor.Length > 1 ? floor[1..].Average() : null);
    }
}
