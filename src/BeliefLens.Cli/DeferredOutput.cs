using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace BeliefLens.Cli;

/// <summary>
/// The console Spectre.Console.Cli writes help to. Spectre resolves its console on every run, and creating a real one
/// (terminal and CI detection) costs start-up time that only help needs; this defers it to the first write, and then
/// uses <see cref="AnsiConsole.Console"/> so help goes where the commands' own output goes.
/// </summary>
internal sealed class DeferredConsole : IAnsiConsole
{
    private static IAnsiConsole Console => AnsiConsole.Console;

    public Profile Profile => Console.Profile;

    public IAnsiConsoleCursor Cursor => Console.Cursor;

    public IAnsiConsoleInput Input => Console.Input;

    public IExclusivityMode ExclusivityMode => Console.ExclusivityMode;

    public RenderPipeline Pipeline => Console.Pipeline;

    public void Clear(bool home) => Console.Clear(home);

    public void Write(IRenderable renderable) => Console.Write(renderable);

    public void WriteAnsi(Action<AnsiWriter> action) => Console.WriteAnsi(action);
}

/// <summary>Spectre's help, built only when help is shown (its styles and resources cost start-up time otherwise).</summary>
internal sealed class DeferredHelpProvider(ICommandAppSettings settings) : IHelpProvider
{
    public IEnumerable<IRenderable> Write(ICommandModel model, ICommandInfo? command) => new HelpProvider(settings).Write(model, command);
}
