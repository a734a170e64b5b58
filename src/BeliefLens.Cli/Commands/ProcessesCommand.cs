using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens processes</c>: the built-in processes with their parameters and defaults.</summary>
public sealed class ProcessesCommand : ICommand
{
    public string Name => "processes";

    public string Summary => "list the built-in processes and their parameters; --export NAME [--out F.json] writes one as a JSON spec";

    public int Run(CommandArguments args)
    {
        string? export = args.Option("export");
        var parameters = args.Parameters();
        string? output = args.Option("out");
        args.RejectUnknown(0);
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

        if (parameters.Count > 0 || output is not null)
        {
            throw new BeliefLensInputException("--param/--out: only apply with --export NAME (write a built-in as a JSON spec).");
        }

        foreach (var builtin in BuiltinProcesses.All)
        {
            var process = BuiltinProcesses.Create(builtin.Name);
            string defaults = string.Join(", ", builtin.Parameters.Select(p => $"{p.Name}={p.Default.ToString("R", CultureInfo.InvariantCulture)}"));
            Console.WriteLine($"{builtin.Name}({defaults})  [{(process.Kind == ProcessKind.Hmm ? "HMM" : "GHMM")}, {process.StateCount} states, {process.VocabSize} tokens]");
            Console.WriteLine($"    {builtin.Description}");
            foreach (var parameter in builtin.Parameters)
            {
                Console.WriteLine($"    --param {parameter.Name}=<number>  {parameter.Description} (default {parameter.Default.ToString("R", CultureInfo.InvariantCulture)})");
            }
        }

        Console.WriteLine("Custom processes: pass a .json spec path instead of a name (see ProcessSpec).");
        return 0;
    }
}
