namespace BeliefLens.Cli.Tests;

/// <summary>
/// Every test that swaps Console.Out/Console.Error or runs Program.Main (which writes to them) belongs here: the
/// console is process-wide, so these tests never run in parallel with one another.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleCollection
{
    public const string Name = "Console";
}
