using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Core;
using BeliefLens.Torch;

namespace BeliefLens.Cli.Sweeps;

/// <summary>
/// An exclusive per-job lock: the lock file opened with <see cref="FileShare.None"/>, which .NET implements on Unix
/// with <c>flock(LOCK_EX | LOCK_NB)</c>. The kernel drops the lock when the holder dies, however it dies, so a killed
/// job never leaves a stale lock; the file's text (host, pid, start) only tells a reader who holds it.
/// </summary>
internal sealed class JobLock : IDisposable
{
    private readonly FileStream _stream;

    private JobLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock, or returns null when another process holds it.</summary>
    public static JobLock? TryAcquire(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        FileStream? stream = null;
        for (int attempt = 0; stream is null; attempt++)
        {
            try
            {
                stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (File.Exists(path))
            {
                // A status probe holds the lock for an instant; only a lock held for a second belongs to a job.
                if (attempt == 9)
                {
                    return null;
                }

                Thread.Sleep(100);
            }
        }

        var holder = new JsonObject
        {
            ["host"] = Environment.MachineName,
            ["pid"] = Environment.ProcessId,
            ["started_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(holder.ToJsonString() + "\n");
        stream.SetLength(0);
        stream.Write(bytes);
        stream.Flush();
        return new JobLock(stream);
    }

    /// <summary>True when some process holds the lock right now (probes by taking it and letting go at once).</summary>
    public static bool IsHeld(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        try
        {
            using var probe = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.None);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Who holds (or last held) the lock, for messages.</summary>
    public static string Holder(string path)
    {
        try
        {
            using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var text = new StreamReader(reader);
            var obj = JsonNode.Parse(text.ReadToEnd()) as JsonObject;
            return obj is null ? "another process" : $"{obj["host"]}:{obj["pid"]} since {obj["started_utc"]}";
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            return "another process";
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>What <c>sweep task</c> did with its job.</summary>
public enum TaskOutcome
{
    Finished,
    AlreadyDone,
    LockedElsewhere,
}

/// <summary><c>sweep task SWEEP --index I</c>: runs one job of the manifest under its lock, resuming what is there.</summary>
public static class SweepTask
{
    public static SweepJob JobAt(IReadOnlyList<SweepJob> jobs, int index) =>
        index >= 0 && index < jobs.Count
            ? jobs[index]
            : throw new BeliefLensInputException($"--index: {index} is outside the manifest's jobs 0..{jobs.Count - 1}.");

    public static TaskOutcome Execute(string sweep, int index, int? threads, IRunObserver observer, CancellationToken cancellation)
    {
        var job = JobAt(SweepManifest.Read(sweep), index);
        var experiment = job.Experiment();
        string lockPath = SweepFiles.Lock(sweep, job.Id);
        using var held = JobLock.TryAcquire(lockPath);
        if (held is null)
        {
            observer.Info($"job {index} ({job.Id}) is being run by {JobLock.Holder(lockPath)}; leaving it alone.");
            return TaskOutcome.LockedElsewhere;
        }

        string dir = SweepFiles.JobDir(sweep, job.Id);
        if (JobRunFiles.IsDone(dir))
        {
            observer.Info($"job {index} ({job.Id}) is already done.");
            return TaskOutcome.AlreadyDone;
        }

        if (threads is int t)
        {
            TorchSharp.torch.set_num_threads(t);
        }

        RecordAttempt(sweep, job.Id, "start", threads);
        try
        {
            RunPipeline.Execute(experiment, dir, force: false, observer, cancellation);
        }
        catch (OperationCanceledException)
        {
            RecordAttempt(sweep, job.Id, "interrupted", threads);
            throw;
        }
        catch (Exception ex)
        {
            RecordAttempt(sweep, job.Id, "failed", threads, ex.Message);
            throw;
        }

        RecordAttempt(sweep, job.Id, "done", threads);
        return TaskOutcome.Finished;
    }

    /// <summary>Appends one event to the job's attempt log; only the lock holder writes it.</summary>
    private static void RecordAttempt(string sweep, string id, string @event, int? threads, string? error = null)
    {
        var line = new JsonObject
        {
            ["event"] = @event,
            ["host"] = Environment.MachineName,
            ["pid"] = Environment.ProcessId,
            ["utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["threads"] = threads,
            ["slurm_job"] = Environment.GetEnvironmentVariable("SLURM_ARRAY_JOB_ID") is { } array
                ? $"{array}_{Environment.GetEnvironmentVariable("SLURM_ARRAY_TASK_ID")}"
                : null,
        };
        if (error is not null)
        {
            line["error"] = error;
        }

        File.AppendAllText(SweepFiles.Attempts(sweep, id), line.ToJsonString() + "\n");
    }

    /// <summary>The attempt events of a job, oldest first; a torn last line is ignored.</summary>
    public static IReadOnlyList<JsonObject> Attempts(string sweep, string id)
    {
        string path = SweepFiles.Attempts(sweep, id);
        if (!File.Exists(path))
        {
            return [];
        }

        var events = new List<JsonObject>();
        foreach (string line in File.ReadLines(path))
        {
            try
            {
                if (JsonNode.Parse(line) is JsonObject o)
                {
                    events.Add(o);
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        return events;
    }

    /// <summary>Cancels on SIGTERM (Slurm's time limit and scancel) as on Ctrl-C, so the run stops at a checkpoint.</summary>
    public static IDisposable CancelOnTermination(CancellationTokenSource cancel)
    {
        var registrations = new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT }.Select(signal => PosixSignalRegistration.Create(signal, context =>
        {
            context.Cancel = true;
            cancel.Cancel();
        })).ToArray();
        return new Registrations(registrations);
    }

    private sealed class Registrations(PosixSignalRegistration[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}

/// <summary>Where a job stands, from its run directory, its lock and its attempt log.</summary>
public enum JobState
{
    Pending,
    Running,
    Done,
    Failed,
}

public static class JobStates
{
    public static JobState Of(string sweep, SweepJob job)
    {
        if (JobRunFiles.IsDone(SweepFiles.JobDir(sweep, job.Id)))
        {
            return JobState.Done;
        }

        if (JobLock.IsHeld(SweepFiles.Lock(sweep, job.Id)))
        {
            return JobState.Running;
        }

        var last = SweepTask.Attempts(sweep, job.Id).LastOrDefault();
        return last?["event"]?.GetValue<string>() == "failed" ? JobState.Failed : JobState.Pending;
    }
}
