using System.Globalization;
using BeliefLens.Core;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens processes</c>: the built-in processes with their parameters and defaults.</summary>
public sealed class ProcessesCommand : BeliefLensCommand<ProcessesCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandOption("--export <NAME>")]
        [Description("write this built-in as a JSON spec (a starting point for custom processes)")]
        public string? Export { get; init; }

        [CommandOption("--out <FILE.json>")]
        [Description("with --export: the file to write (default: stdout)")]
        public string? Out { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Export is null && (Param.Length > 0 || Out is not null) ? ValidationResult.Error("--param/--out: only apply with --export NAME (write a built-in as a JSON spec).")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string? export = settings.Export;
        string? output = settings.Out;
        var parameters = settings.Parameters;
        if (export is not null)
        {
            // A built-in as a JSON spec: a starting point for custom processes.
            string json = ProcessSpec.ToJson(ProcessResolver.Resolve(export, parameters)) + "\n";
            if (output is null)
            {
                Console.Write(json);
            }
            else
            {
                CsvFiles.WriteAtomically(output, writer => writer.Write(json));
            }

            return 0;
        }

        foreach (var builtin in BuiltinProcesses.All)
        {
            var process = BuiltinProcesses.Create(builtin.Name);
            string defaults = string.Join(", ", builtin.Parameters.Select(p => $"{p.Name}={p.Default.ToString("R", CultureInfo.InvariantCulture)}"));
            string composite = process.Composite is { } c
                ? $", {(c.Kind == CompositeKind.Mixture ? "mixture" : "product")} of {c.PartCount} {c.PartLabel}s: {string.Join(" + ", c.Parts.Select(p => p.Name))}"
                : string.Empty;
            Console.WriteLine($"{builtin.Name}({defaults})  [{(process.Kind == ProcessKind.Hmm ? "HMM" : "GHMM")}, {process.StateCount} states, {process.VocabSize} tokens{composite}]");
            Console.WriteLine($"    {builtin.Description}");
            foreach (var parameter in builtin.Parameters)
            {
                Console.WriteLine($"    --param {parameter.Name}=<number>  {parameter.Description} (default {parameter.Default.ToString("R", CultureInfo.InvariantCulture)})");
            }
        }

        Console.WriteLine("Custom processes: pass a .json spec path instead of a name (see ProcessSpec); \"type\": \"mixture\" and \"product\" compose built-ins and inline specs (README, Composite processes).");
        return 0;
    }
}
