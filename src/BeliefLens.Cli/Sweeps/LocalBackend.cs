using System.Diagnostics;
using System.Globalization;
using BeliefLens.Core;
using Process = System.Diagnostics.Process;

namespace BeliefLens.Cli.Sweeps;

/// <summary>How to start this same CLI in a child process (or on a compute node): the apphost, or dotnet + belieflens.dll.</summary>
public static class SelfCommand
{
    /// <summary>The command words, e.g. <c>["/usr/bin/dotnet", "/opt/belieflens/belieflens.dll"]</c>.</summary>
    public static IReadOnlyList<string> Words()
    {
        string dll = typeof(Program).Assembly.Location;
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "belieflens")
        {
            return [process];
        }

        // Under `dotnet belieflens.dll` or inside a test host: run the dll with the dotnet host.
        string host = process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet"
            ? process
            : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        return [host, dll];
    }
}

/// <summary>
/// <c>sweep run --backend local</c>: one <c>sweep task</c> process per unfinished job, at most <c>parallel</c> at a
/// time, each pinned to <c>threads</c> TorchSharp threads. Jobs start in manifest order; a job another process holds
/// (its lock is taken) is left to that process.
/// </summary>
public sealed class LocalBackend(string sweep, int parallel, int threads, TextWriter output)
{
    private sealed record Running(SweepJob Job, Process Process, Stopwatch Clock);

    /// <summary>Runs the sweep to the end; returns the ids of jobs that failed.</summary>
    public IReadOnlyList<string> Run(CancellationToken cancellation)
    {
        var jobs = SweepManifest.Read(sweep);
        var queue = new Queue<SweepJob>(jobs.Where(j => JobStates.Of(sweep, j) != JobState.Done));
        int done = jobs.Count - queue.Count;
        int alreadyDone = done;
        var failed = new List<string>();
        int elsewhere = 0;
        var running = new List<Running>();
        var durations = new List<double>();
        var clock = Stopwatch.StartNew();
        output.WriteLine($"sweep {sweep}: {jobs.Count} jobs, {alreadyDone} already done; up to {parallel} at a time, {threads} thread(s) each.");
        string lastLine = string.Empty;

        void Report()
        {
            int pending = queue.Count;
            string eta = durations.Count == 0 || pending + running.Count == 0
                ? (pending + running.Count == 0 ? "0 s" : "?")
                : FormatSeconds(durations.Average() * Math.Ceiling((pending + running.Count) / (double)parallel));
            string line = $"[{clock.Elapsed:hh\\:mm\\:ss}] {done}/{jobs.Count} done, {running.Count} running, {failed.Count} failed, {pending} pending" +
                          (elsewhere > 0 ? $", {elsewhere} held by other processes" : string.Empty) + $", ETA {eta}";
            if (line[11..] != (lastLine.Length > 11 ? lastLine[11..] : string.Empty))
            {
                output.WriteLine(line);
                lastLine = line;
            }
        }

        try
        {
            while (queue.Count > 0 || running.Count > 0)
            {
                while (running.Count < parallel && queue.Count > 0 && !cancellation.IsCancellationRequested)
                {
                    var job = queue.Dequeue();
                    if (JobLock.IsHeld(SweepFiles.Lock(sweep, job.Id)))
                    {
                        elsewhere++;
                        continue;
                    }

                    running.Add(new Running(job, Start(job), Stopwatch.StartNew()));
                }

                Report();
                if (running.Count == 0)
                {
                    break;
                }

                WaitAny(running, cancellation);
                foreach (var finished in running.Where(r => r.Process.HasExited).ToList())
                {
                    running.Remove(finished);
                    int code = finished.Process.ExitCode;
                    finished.Process.Dispose();
                    string dir = SweepFiles.JobDir(sweep, finished.Job.Id);
                    if (JobRunFiles.IsDone(dir))
                    {
                        done++;
                        durations.Add(finished.Clock.Elapsed.TotalSeconds);
                    }
                    else if (code == 0)
                    {
                        elsewhere++;
                    }
                    else if (!cancellation.IsCancellationRequested)
                    {
                        failed.Add(finished.Job.Id);
                        output.WriteLine($"job {finished.Job.Index} ({finished.Job.Id}) failed with exit code {code}: {LastLine(SweepFiles.Log(sweep, finished.Job.Id))} (log: {SweepFiles.Log(sweep, finished.Job.Id)})");
                    }
                }

                if (cancellation.IsCancellationRequested && running.Count == 0)
                {
                    throw new OperationCanceledException(cancellation);
                }
            }
        }
        finally
        {
            foreach (var r in running)
            {
                // Ctrl-C reaches the children too; give them their checkpoint, then make sure none outlives us.
                if (!r.Process.WaitForExit(TimeSpan.FromSeconds(30)))
                {
                    r.Process.Kill(entireProcessTree: true);
                }

                r.Process.Dispose();
            }
        }

        Report();
        return failed;
    }

    private Process Start(SweepJob job)
    {
        var words = SelfCommand.Words();
        var info = new ProcessStartInfo(words[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string word in words.Skip(1))
        {
            info.ArgumentList.Add(word);
        }

        foreach (string arg in new[] { "sweep", "task", sweep, "--index", job.Index.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        // One thread count for everything inside the child, so its numbers do not depend on the machine's load.
        info.Environment["OMP_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        info.Environment["MKL_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture);
        Directory.CreateDirectory(SweepFiles.Jobs(sweep));
        var log = new StreamWriter(SweepFiles.Log(sweep, job.Id), append: true) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        object gate = new();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { log.WriteLine(e.Data); } } };
        process.Exited += (_, _) => { };
        if (!process.Start())
        {
            throw new IOException($"could not start '{words[0]}' for job {job.Id}.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var disposeLog = new Thread(() =>
        {
            process.WaitForExit();
            lock (gate)
            {
                log.Dispose();
            }
        }) { IsBackground = true };
        disposeLog.Start();
        return process;
    }

    private static void WaitAny(List<Running> running, CancellationToken cancellation)
    {
        while (!running.Any(r => r.Process.HasExited))
        {
            if (cancellation.WaitHandle.WaitOne(200) && running.All(r => !r.Process.HasExited))
            {
                // Cancelled: the children were signalled too; wait for them below.
                Thread.Sleep(200);
                if (running.Any(r => r.Process.HasExited))
                {
                    return;
                }
            }
        }
    }

    private static string LastLine(string path)
    {
        try
        {
            return File.ReadLines(path).LastOrDefault(l => l.Trim().Length > 0) ?? "(no output)";
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    internal static string FormatSeconds(double seconds) => seconds switch
    {
        < 90 => $"{seconds:F0} s",
        < 5400 => $"{seconds / 60:F0} min",
        _ => $"{seconds / 3600:F1} h",
    };

    /// <summary>Jobs at a time and threads per job: by default every core busy, one thread per job, never oversubscribed.</summary>
    public static (int Parallel, int Threads) Resolve(int? parallel, int? threads, int cores)
    {
        int t = threads ?? 1;
        int p = parallel ?? Math.Max(1, cores / t);
        if (p * t > cores)
        {
            throw new BeliefLensInputException($"--parallel: {p} jobs × {t} thread(s) exceed the {cores} cores; lower --parallel or --threads.");
        }

        return (p, t);
    }
}
