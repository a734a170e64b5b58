namespace BeliefLens.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("belieflens: no command yet");
        return args.Length == 0 ? 2 : 2;
    }
}
