using System.Diagnostics;
using BeliefLens.Cli.Sweeps;
using BeliefLens.Cli.Tests.Run;

namespace BeliefLens.Cli.Tests.Sweeps;

/// <summary>Tiny sweep specs (each job a few seconds) and a way to run the built CLI in a child process.</summary>
internal static class SweepFixture
{
    /// <summary>Writes the tiny experiment beside the spec and returns the spec's path.</summary>
    public static string WriteSpec(TempDir temp, string yamlBody, string name = "spec.yaml")
    {
        File.WriteAllText(temp.Combine("tiny.json"), TinyExperiment.Json().ToJsonString());
        string path = temp.Combine(name);
        File.WriteAllText(path, "base: tiny.json\n" + yamlBody);
        return path;
    }

    /// <summary>Starts <c>belieflens ARGS</c> the way the sweep itself starts its children.</summary>
    public static Process Start(params string[] args)
    {
        var words = SelfCommand.Words();
        var info = new ProcessStartInfo(words[0]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string word in words.Skip(1).Concat(args))
        {
            info.ArgumentList.Add(word);
        }

        return Process.Start(info)!;
    }

    public static (int Code, string Out, string Error) RunToEnd(TimeSpan timeout, params string[] args)
    {
        using var process = Start(args);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"belieflens {string.Join(' ', args)} did not finish in {timeout}; output: {stdout.Result}{stderr.Result}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>results.csv without the wall_seconds column (the only column that may differ between equal runs).</summary>
    public static string[] MetricsOf(string csv)
    {
        var lines = File.ReadAllLines(csv);
        int wall = Array.IndexOf(lines[0].Split(','), "wall_seconds");
        return lines.Select(l => string.Join(',', l.Split(',').Where((_, k) => k != wall))).ToArray();
    }
}
