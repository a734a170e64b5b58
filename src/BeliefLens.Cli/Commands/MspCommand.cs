using System.Globalization;
using System.Text.Json;
using BeliefLens.Core;
using BeliefLens.Reporting;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens msp &lt;process&gt; --depth L [--out FILE.json]</c>: the mixed-state presentation summary.</summary>
public sealed class MspCommand : BeliefLensCommand<MspCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[PROCESS]")]
        [Description("a built-in process name or a .json spec (required)")]
        public string? Process { get; init; }

        [CommandOption("--depth <L>")]
        [Description("how many tokens to search (required)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0)]
        public int? Depth { get; init; }

        [CommandOption("--tolerance <X>")]
        [Description("beliefs closer than this (max norm) are merged")]
        [TypeConverter(typeof(DoubleValueConverter))]
        [DefaultValue(MixedStatePresentation.DefaultTolerance)]
        public double Tolerance { get; init; } = MixedStatePresentation.DefaultTolerance;

        [CommandOption("--max-states <N>")]
        [Description("stop the search beyond this many mixed states")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1)]
        [DefaultValue(MixedStatePresentation.DefaultMaxStates)]
        public int MaxStates { get; init; } = MixedStatePresentation.DefaultMaxStates;

        [CommandOption("--context <N>")]
        [Description("context length for the loss floor (default: min(depth, 10))")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1)]
        public int? Context { get; init; }

        [CommandOption("--out <FILE.json>")]
        [Description("also write the summary as JSON")]
        public string? Out { get; init; }

        [CommandOption("--graph <FILE>")]
        [Description("also draw the MSP as a graph: FILE.dot, .gv, .graphml, .svg or .png (svg/png need Graphviz 'dot'; the .dot is written beside them)")]
        public string? Graph { get; init; }

        [CommandOption("--graph-depth <D>")]
        [Description("draw only the states first reached within D tokens (default: the search depth)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0)]
        public int? GraphDepth { get; init; }

        [CommandOption("--graph-max-states <N>")]
        [Description("cap the drawing at the deepest whole level with at most N states")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1)]
        [DefaultValue(MspGraphDefaults.MaxStates)]
        public int GraphMaxStates { get; init; } = MspGraphDefaults.MaxStates;

        [CommandOption("--bos")]
        [Description("prepend a beginning-of-sequence start state to the process")]
        public bool Bos { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Process is null ? ValidationResult.Error("process: give a built-in name or a .json spec, e.g. 'belieflens msp rrxor --depth 12'.")
                : Depth is null ? ValidationResult.Error("--depth: is required for 'msp' (how many tokens to search, e.g. --depth 10).")
                : Graph is string g && !new[] { ".dot", ".gv", ".graphml", ".svg", ".png" }.Contains(Path.GetExtension(g).ToLowerInvariant())
                    ? ValidationResult.Error($"--graph: '{g}' must end in .dot, .gv, .graphml, .svg or .png.")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var process = ProcessResolver.Resolve(settings.Process!, settings.Parameters);
        if (settings.Bos)
        {
            process = ProcessBuilders.WithBos(process);
        }

        int depth = settings.Depth!.Value;
        var msp = MixedStatePresentation.Build(process, depth, settings.Tolerance, settings.MaxStates);
        var summary = MspSummary.From(msp, settings.Context ?? Math.Min(depth - 1, 10));
        PrintTable(summary);
        if (settings.Out is string output)
        {
            string json = JsonSerializer.Serialize(summary, CommandJson.Options);
            CsvFiles.WriteAtomically(output, writer => writer.Write(json + "\n"));
            Console.WriteLine($"wrote {output}");
        }

        if (settings.Graph is string graphPath)
        {
            var graph = MspGraph.From(msp, settings.GraphDepth, settings.GraphMaxStates);
            var (written, note) = MspGraphFiles.Write(graph, graphPath);
            if (note is not null)
            {
                Console.WriteLine(note);
            }

            Console.WriteLine($"graph             {MspGraphFiles.Describe(graph)}; wrote {string.Join(", ", written)}");
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

        s.Composite?.Print();
        double? asymptote = s.Composite?.AsymptoticLoss;
        Console.WriteLine("  L       H(L)       h(L)" + (asymptote is null ? string.Empty : "  h(L)−limit"));
        for (int l = 1; l <= s.Depth; l++)
        {
            string excess = asymptote is double a ? $" {F(s.MyopicEntropies[l - 1] - a),10}" : string.Empty;
            Console.WriteLine($"{l,3} {F(s.BlockEntropies[l]),10} {F(s.MyopicEntropies[l - 1]),10}{excess}");
        }
    }
}

/// <summary>Defaults of <c>msp --graph</c>.</summary>
public static class MspGraphDefaults
{
    /// <summary>Beyond a few hundred states Graphviz's layout is slow and the picture unreadable.</summary>
    public const int MaxStates = 300;
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
    double? LossFloorMeanAfterFirst,
    CompositeSummary? Composite = null)
{
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
            floor.Length > 1 ? floor[1..].Average() : null,
            CompositeSummary.From(msp.Process));
    }
}

/// <summary>A mixture's components or a product's factors, with each part's entropy rate and the asymptotic loss.</summary>
public sealed record CompositeSummary(string Kind, string? Structure, double? Noise, double AsymptoticLoss, CompositePart[] Parts)
{
    public static CompositeSummary? From(Process process)
    {
        if (process.Composite is not { } composite)
        {
            return null;
        }

        var parts = composite.Parts.Select((p, k) => new CompositePart(
            k,
            p.Name,
            composite.Kind == CompositeKind.Mixture ? composite.Weights[k] : null,
            composite.Kind == CompositeKind.Mixture ? composite.VocabMaps[k] : null,
            p.StateCount,
            p.VocabSize,
            LossFloor.Asymptotic(p))).ToArray();
        bool product = composite.Kind == CompositeKind.Product;
        return new CompositeSummary(
            product ? "product" : "mixture",
            product ? ProcessBuilders.StructureName(composite.Structure) : null,
            product ? composite.Noise : null,
            LossFloor.Asymptotic(process),
            parts);
    }

    public void Print()
    {
        static string F(double value) => value.ToString("F6", CultureInfo.InvariantCulture);
        string what = Kind == "product" ? $"product ({Structure}, noise {Noise?.ToString("R", CultureInfo.InvariantCulture)})" : "mixture";
        Console.WriteLine($"{what} of {Parts.Length}: asymptotic loss {F(AsymptoticLoss)} nats (the myopic entropy's limit)");
        foreach (var part in Parts)
        {
            string weight = part.Weight is double w ? $" weight {w.ToString("G6", CultureInfo.InvariantCulture)}" : string.Empty;
            string map = part.VocabMap is int[] m ? $" tokens→[{string.Join(",", m)}]" : string.Empty;
            Console.WriteLine($"  {(Kind == "product" ? "factor" : "component")} {part.Index}: {part.Name}{weight}{map}, {part.States} states, {part.Tokens} tokens, entropy rate {F(part.EntropyRate)}");
        }
    }
}

/// <summary>One component or factor in <see cref="CompositeSummary"/>.</summary>
public sealed record CompositePart(int Index, string Name, double? Weight, int[]? VocabMap, int States, int Tokens, double EntropyRate);
