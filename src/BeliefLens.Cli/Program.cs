using System.Reflection;
using BeliefLens.Core;

namespace BeliefLens.Cli;

public static class Program
{
    /// <summary>Switch options (no value) across all commands.</summary>
    public static readonly IReadOnlySet<string> FlagNames = new HashSet<string>(StringComparer.Ordinal)
    {
        "resume", "force", "concat", "all-resid", "long", "bos", "help", "json",
    };

    public static int Main(string[] args)
    {
        var commands = DiscoverCommands();
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            PrintUsage(commands);
            return args.Length == 0 ? 2 : 0;
        }

        if (!commands.TryGetValue(args[0], out var command))
        {
            Console.Error.WriteLine($"error: unknown command '{args[0]}'; valid commands are {string.Join(", ", commands.Keys.Order())}.");
            return 2;
        }

        try
        {
            return command.Run(new CommandArguments(command.Name, args[1..], FlagNames));
        }
        catch (BeliefLensInputException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("interrupted: everything up to the last checkpoint is saved; rerun the same command to continue (train needs --resume).");
            return 130;
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
        catch (UnauthorizedAccessException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    private static Dictionary<string, ICommand> DiscoverCommands() =>
        typeof(Program).Assembly.GetTypes()
            .Where(t => typeof(ICommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (ICommand)Activator.CreateInstance(t)!)
            .ToDictionary(c => c.Name, StringComparer.Ordinal);

    private static void PrintUsage(Dictionary<string, ICommand> commands)
    {
        string version = typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "dev";
        Console.WriteLine($"belieflens {version}: belief-state geometry in transformers");
        Console.WriteLine("usage: belieflens <command> [options]");
        foreach (var command in commands.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            Console.WriteLine($"  {command.Name,-14} {command.Summary}");
        }
    }
}
