using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using BeliefLens.Cli.Commands;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Tests;

/// <summary>Help for every command, and the one-line errors for what Spectre's parser rejects.</summary>
[Collection("Console")]
public sealed class CommandLineTests
{
    /// <summary>How each command is typed. Every command class in the CLI must appear here (checked below).</summary>
    private static readonly Dictionary<Type, string[]> CommandPaths = new()
    {
        [typeof(RunCommand)] = ["run"],
        [typeof(ReportCommand)] = ["report"],
        [typeof(CompositeCommand)] = ["composite"],
        [typeof(ProcessesCommand)] = ["processes"],
        [typeof(BeliefsCommand)] = ["beliefs"],
        [typeof(MspCommand)] = ["msp"],
        [typeof(PlotBeliefsCommand)] = ["plot-beliefs"],
        [typeof(TrainCommand)] = ["train"],
        [typeof(ProbeCommand)] = ["probe"],
        [typeof(AttentionCommand)] = ["attention"],
        [typeof(BenchBeliefs)] = ["bench", "beliefs"],
        [typeof(BenchTrain)] = ["bench", "train"],
        [typeof(BenchProbe)] = ["bench", "probe"],
        [typeof(BenchDimension)] = ["bench", "dimension"],
        [typeof(DimensionCommand)] = ["dimension"],
        [typeof(InterveneCommand)] = ["intervene"],
        [typeof(BenchQuantumProbe)] = ["bench", "quantum-probe"],
        [typeof(UniversalityCommand)] = ["universality"],
        [typeof(SweepPlanCommand)] = ["sweep", "plan"],
        [typeof(SweepRunCommand)] = ["sweep", "run"],
        [typeof(SweepTaskCommand)] = ["sweep", "task"],
        [typeof(SweepStatusCommand)] = ["sweep", "status"],
        [typeof(SweepCollectCommand)] = ["sweep", "collect"],
    };

    public static TheoryData<string> CommandTypes() => [.. CommandPaths.Keys.Select(t => t.Name)];

    private static Type SettingsOf(Type command)
    {
        for (var type = command; type is not null; type = type.BaseType)
        {
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Command<>))
            {
                return type.GetGenericArguments()[0];
            }
        }

        throw new InvalidOperationException($"{command.Name} is not a Command<TSettings>.");
    }

    [Fact]
    public void EveryCommandHasAHelpTest()
    {
        var commands = typeof(Program).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsClass: true } && typeof(ICommand).IsAssignableFrom(t))
            .ToHashSet();
        Assert.Equal(commands.OrderBy(t => t.Name), CommandPaths.Keys.OrderBy(t => t.Name));
    }

    [Theory]
    [MemberData(nameof(CommandTypes))]
    public void HelpExitsZeroAndListsEveryOptionWithItsDefault(string commandType)
    {
        var command = CommandPaths.Keys.Single(t => t.Name == commandType);
        var (code, output, error) = Run.Cli.Run([.. CommandPaths[command], "--help"]);
        Assert.True(code == 0, error);
        Assert.Equal(string.Empty, error);
        var options = SettingsOf(command).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => (Property: p, Option: p.GetCustomAttribute<CommandOptionAttribute>()))
            .Where(x => x.Option is not null)
            .ToList();
        var arguments = SettingsOf(command).GetProperties().Select(p => p.GetCustomAttribute<CommandArgumentAttribute>()).OfType<CommandArgumentAttribute>().ToList();
        Assert.True(options.Count + arguments.Count > 0);
        foreach (var argument in arguments)
        {
            Assert.Contains(argument.ValueName, output, StringComparison.OrdinalIgnoreCase);
        }

        foreach (var (property, option) in options)
        {
            Assert.Contains("--" + option!.LongNames[0], output, StringComparison.Ordinal);
            if (property.GetCustomAttribute<DefaultValueAttribute>()?.Value is { } value && value is not bool)
            {
                // The help's DEFAULT column shows the value the command uses when the option is absent.
                Assert.Contains(Convert.ToString(value, CultureInfo.InvariantCulture)!, output, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void DefaultsInHelpAreTheDefaultsUsed()
    {
        // A [DefaultValue] the help shows must match the property's initial value, or help would lie.
        foreach (var command in CommandPaths.Keys)
        {
            var settingsType = SettingsOf(command);
            object settings = Activator.CreateInstance(settingsType)!;
            foreach (var property in settingsType.GetProperties())
            {
                if (property.GetCustomAttribute<DefaultValueAttribute>() is { } shown)
                {
                    Assert.True(Equals(shown.Value, property.GetValue(settings)), $"{command.Name}.{property.Name}: help shows {shown.Value}, default is {property.GetValue(settings)}");
                }
            }
        }
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("help")]
    [InlineData("bench", "--help")]
    [InlineData("sweep", "--help")]
    public void OverviewHelpListsEveryCommand(params string[] args)
    {
        var (code, output, error) = Run.Cli.Run(args);
        Assert.True(code == 0, error);
        foreach (string name in args[0] switch { "bench" => Program.BenchmarkNames, "sweep" => Program.SweepNames, _ => Program.CommandNames })
        {
            Assert.Contains(name, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void NoCommandShowsTheOverviewAndExits2()
    {
        var (code, output, _) = Run.Cli.Run();
        Assert.Equal(2, code);
        Assert.Contains("plot-beliefs", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--stepz: unknown option for 'train'", "train", "--stepz", "5", "--out", "x")]
    [InlineData("--fast: unknown option for 'bench train'", "bench", "train", "--fast")]
    [InlineData("Could not match 'extra'", "beliefs", "mess3", "extra", "--depth", "2", "--out", "x.csv")]
    [InlineData("'depth' is defined but no value has been provided", "beliefs", "mess3", "--out", "x.csv", "--depth")]
    [InlineData("--steps: 'many' is not a whole number", "train", "--steps", "many", "--out", "x")]
    [InlineData("--lr: 'fast' is not a finite number", "train", "--lr=fast", "--out", "x")]
    [InlineData("--lr: 'NaN' is not a finite number", "train", "--lr", "NaN", "--out", "x")]
    [InlineData("--runs: 0 is outside [1, 10000]", "bench", "beliefs", "--runs", "0")]
    [InlineData("--threads: 0 is outside [1, 1024]", "probe", "--checkpoint", "x.pt", "--threads", "0", "--out", "x")]
    [InlineData("--tolerance: 'tiny' is not a finite number", "msp", "mess3", "--depth", "2", "--tolerance", "tiny")]
    [InlineData("--checkpoint: is required for 'probe'", "probe", "mess3", "--out", "x")]
    [InlineData("--attention: 'flash' is not valid", "bench", "train", "--attention", "flash")]
    [InlineData("unknown command 'belief'; valid commands are run, report", "belief", "mess3")]
    [InlineData("--depth: give a command first", "--depth", "3")]
    [InlineData("bench: say what to benchmark", "bench")]
    public void ParserErrorsAreOneLineWithExitCode2(string expected, params string[] args)
    {
        var (code, output, error) = Run.Cli.Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.Equal(string.Empty, output); // no help box or usage dump on stdout
        Assert.False(File.Exists("x.csv"));
        Assert.False(Directory.Exists("x"));
    }

    [Fact]
    public void RepeatedOptionsAccumulateAndInlineValuesParse()
    {
        string dir = Directory.CreateTempSubdirectory("belieflens-cli-").FullName;
        try
        {
            string csv = Path.Combine(dir, "b.csv");
            var (code, _, error) = Run.Cli.Run("beliefs", "mess3", "--param=x=0.15", "--param", "alpha=0.6", "--depth=1", "--out", csv);
            Assert.True(code == 0, error);
            var tree = Core.BeliefTree.Enumerate(Core.BuiltinProcesses.Mess3(0.15, 0.6), 1);
            string[] first = File.ReadAllLines(csv)[2].Split(',');
            Assert.Equal(string.Join(' ', tree.Prefix(1)), first[0]);
            Assert.Equal(Math.Exp(tree.LogProbability[1]), double.Parse(first[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
