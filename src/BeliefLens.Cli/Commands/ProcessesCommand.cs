using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Cli.Commands;

/// <summary><c>belieflens processes</c>: the built-in processes with their parameters and defaults.</summary>
public sealed class ProcessesCommand : ICommand
{
    public string Name => "processes";

    public string Summary => "list the built-in processes, their parameters and defaults";

    public int Run(CommandArguments args)
    {
        args.RejectUnknown(0);
        foreach (var builtin in BuiltinProcesses.All)
        {
            var process = BuiltinProcesses.Create(builtin.Name);
            string parameters = string.Join(", ", builtin.Parameters.Select(p => $"{p.Name}={p.Default.ToString("R", CultureInfo.InvariantCulture)}"));
            Console.WriteLine($"{builtin.Name}({parameters})  [{(process.Kind == ProcessKind.Hmm ? "HMM" : "GHMM")}, {process.StateCount} states, {process.VocabSize} tokens]");
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
