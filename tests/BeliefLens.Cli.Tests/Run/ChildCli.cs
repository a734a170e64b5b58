using System.Diagnostics;
using System.Text;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>
/// The real belieflens command in a child process (<c>dotnet belieflens.dll …</c>, the build this test project copies
/// beside itself), so a test can SIGKILL it as a user's kill would. Disposing kills it if it is still running.
/// </summary>
internal sealed class ChildCli : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();

    private ChildCli(Process process) => Process = process;

    public Process Process { get; }

    public int Id => Process.Id;

    /// <summary>Everything the child wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>What the child wrote to stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_output)
            {
                return _error.ToString();
            }
        }
    }

    public static ChildCli Start(params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "belieflens.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing; build the test project");
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var child = new ChildCli(new Process { StartInfo = info });
        child.Process.OutputDataReceived += (_, e) => child.Append(e.Data);
        child.Process.ErrorDataReceived += (_, e) => child.Append(e.Data, error: true);
        child.Process.Start();
        child.Process.BeginOutputReadLine();
        child.Process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs the command to its end and returns its exit code, its whole output and its stderr.</summary>
    public static (int Code, string Output, string Error) Run(params string[] args)
    {
        using var child = Start(args);
        int code = child.WaitForExit();
        return (code, child.Output, child.Error);
    }

    /// <summary>Waits for the child to end (failing the test after <paramref name="timeoutSeconds"/>) and returns its exit code.</summary>
    public int WaitForExit(int timeoutSeconds = 180)
    {
        Assert.True(Process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)), $"the child did not end within {timeoutSeconds} s: {Output}");
        Process.WaitForExit(); // flushes the redirected output
        return Process.ExitCode;
    }

    /// <summary>SIGKILL: no handler runs, nothing is flushed or cleaned up.</summary>
    public void Kill()
    {
        try
        {
            Process.Kill();
        }
        catch (InvalidOperationException)
        {
            // already ended
        }
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Kill();
            Process.WaitForExit();
        }

        Process.Dispose();
    }

    private void Append(string? line, bool error = false)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
                if (error)
                {
                    _error.AppendLine(line);
                }
            }
        }
    }
}
