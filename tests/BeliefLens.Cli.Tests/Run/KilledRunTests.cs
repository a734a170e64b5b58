using System.Globalization;
using BeliefLens.Core;
using BeliefLens.Runs;
using Xunit.Abstractions;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>
/// The real CLI in child processes, killed with SIGKILL as a user's kill -9 (or a dying `dotnet run`) would: a killed
/// run resumes to exactly what an uninterrupted run writes, and while one process writes a run directory no other can.
/// </summary>
[Collection("Console")]
public sealed class KilledRunTests(ITestOutputHelper log) : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    /// <summary>1 layer, d_model 16, by default 60 steps with 5 checkpoints (1, 8, 20, 40, 60) and a 200-sequence probe.</summary>
    private string WriteExperiment(long steps = 60, long checkpointEvery = 20)
    {
        var json = TinyExperiment.Json();
        json["training"]!["steps"] = steps;
        json["training"]!["eval_every"] = 20;
        json["training"]!["checkpoint_every"] = checkpointEvery;
        json["training"]!["log_checkpoints"] = 3;
        json["probe"]!["emergence_panels"] = 3;
        string path = _temp.Combine($"experiment-{steps}.json");
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    [Fact]
    public void AKillAfterAnyFileOperationResumesBitIdentically()
    {
        string experiment = WriteExperiment();
        string reference = _temp.Combine("reference");
        var (code, output, _) = ChildCli.Run("run", experiment, "--out", reference, "--threads", "1");
        Assert.True(code == 0, output);

        // Kill the k-th invocation right after its k-th file operation (a new file or a rename) in the run directory,
        // k = 1, 2, 3, …; each invocation resumes what the killed ones left, until one finishes on its own. Every
        // invocation re-renders the figures and report from the run's files, so once a kill has landed there the next
        // invocation is left to finish.
        string crashed = _temp.Combine("crashed");
        Directory.CreateDirectory(crashed);
        var killedAt = new List<string>();
        bool killedWhileRendering = false;
        for (int k = 1; ; k++)
        {
            Assert.True(k <= 150, $"the run did not finish after {k - 1} killed invocations");
            var (finished, exitCode, lastOperation, childOutput) =
                RunKilledAfter(killedWhileRendering ? int.MaxValue : k, crashed, "run", experiment, "--out", crashed, "--threads", "1");
            if (finished)
            {
                Assert.True(exitCode == 0, $"invocation {k} (after kills at {string.Join("; ", killedAt)}) failed with {exitCode}: {childOutput}");
                break;
            }

            killedAt.Add($"{k}: {lastOperation}");
            killedWhileRendering = lastOperation.Contains("figures", StringComparison.Ordinal) || lastOperation.Contains("report.html", StringComparison.Ordinal);
        }

        log.WriteLine($"{killedAt.Count} kills, each after the k-th file operation of its invocation: {string.Join("; ", killedAt)}");
        Assert.True(killedAt.Count >= 10, $"only {killedAt.Count} kills landed: {string.Join(", ", killedAt)}");
        AssertSameRun(reference, crashed);
    }

    [Fact]
    public void ASecondWriterIsRefusedWhileTheFirstHoldsTheLockAndAKilledHolderFreesIt()
    {
        string experiment = WriteExperiment(steps: 1_000_000, checkpointEvery: 0); // trains far longer than the test lasts
        string dir = _temp.Combine("run");
        var directory = new RunDirectory(dir);
        using (var first = ChildCli.Start("run", experiment, "--out", dir, "--threads", "1"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (directory.ReadLockHolder()?.Pid != first.Id)
            {
                Assert.True(DateTime.UtcNow < deadline && !first.Process.HasExited, $"the first run never took the lock: {first.Output}");
                Thread.Sleep(50);
            }

            // Another run of it, and a train that would replace it: each refused with one line naming the holder.
            foreach (string[] args in new[]
            {
                new[] { "run", experiment, "--out", dir },
                ["train", "mess3", "--steps", "5", "--out", dir, "--force"],
            })
            {
                var (code, output, error) = ChildCli.Run(args);
                Assert.True(code == 2, output);
                string line = Assert.Single(error.Trim().Split('\n'));
                Assert.StartsWith($"error: {dir}: in use by pid {first.Id} on {Environment.MachineName} since ", line, StringComparison.Ordinal);
                Assert.Contains($"run {experiment} --out {dir} --threads 1", line, StringComparison.Ordinal);
                Assert.EndsWith($"wait for it to finish or stop it (kill {first.Id}), then rerun.", line, StringComparison.Ordinal);
            }

            // The same refusal in-process, from the library.
            var refused = Assert.Throws<BeliefLensInputException>(() => directory.Lock("second writer"));
            Assert.Contains($"pid {first.Id}", refused.Message, StringComparison.Ordinal);

            first.Kill();
            first.WaitForExit();
            Assert.True(first.Process.HasExited);
        }

        // The kernel released the lock with the killed process: its holder record is stale and blocks nothing.
        Assert.NotEqual(Environment.ProcessId, directory.ReadLockHolder()?.Pid);
        using (var writer = directory.Lock("after the kill"))
        {
            Assert.Equal(Environment.ProcessId, directory.ReadLockHolder()!.Pid);
            Assert.Equal("after the kill", directory.ReadLockHolder()!.Command);
        }

        Assert.Null(directory.ReadLockHolder());
    }

    /// <summary>
    /// Runs the CLI, watching <paramref name="dir"/>, and SIGKILLs it right after the <paramref name="k"/>-th new file or
    /// rename there. Returns whether it finished before that, its exit code, and the operation it was killed after.
    /// </summary>
    private static (bool Finished, int ExitCode, string LastOperation, string Output) RunKilledAfter(int k, string dir, params string[] args)
    {
        using var watcher = new FileSystemWatcher(dir)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName,
            InternalBufferSize = 1 << 16,
        };
        const int Sigkill = 137; // 128 + SIGKILL: how .NET reports a child killed by the signal
        int seen = 0;
        string last = string.Empty;
        ChildCli? child = null;
        using var started = new ManualResetEventSlim();
        void OnOperation(object sender, FileSystemEventArgs e)
        {
            if (Interlocked.Increment(ref seen) == k)
            {
                last = $"{e.ChangeType} {Path.GetRelativePath(dir, e.FullPath)}";
                started.Wait();
                child!.Kill();
            }
        }

        watcher.Created += OnOperation;
        watcher.Renamed += OnOperation;
        watcher.EnableRaisingEvents = true;
        using (child = ChildCli.Start(args))
        {
            started.Set();
            int code = child.WaitForExit();
            return (code != Sigkill, code, Volatile.Read(ref last), child.Output);
        }
    }

    /// <summary>
    /// Two run directories hold the same run: the same files, and byte for byte the same checkpoints, config, probes,
    /// probe arrays and probe.json; summary.json, metrics.jsonl and the sidecars equal but for their wall-clock fields.
    /// The figures and report.html are rendered from these files on every run and print the wall time; the Parquet tables
    /// mirror the JSONL files, wall-clock columns included (PythonOutputsTests checks them against the JSONL).
    /// </summary>
    private static void AssertSameRun(string expectedDir, string actualDir)
    {
        static List<string> Files(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f)).Where(f => !f.StartsWith("figures", StringComparison.Ordinal) && !f.StartsWith("tensorboard", StringComparison.Ordinal) && f != "report.html"
                && !f.EndsWith(".parquet", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal).ToList();

        var files = Files(expectedDir);
        Assert.Equal(files, Files(actualDir));
        Assert.Contains(Path.Combine("checkpoints", "step_0000060.pt"), files);
        Assert.Contains(Path.Combine("probe", "beliefs_true.npy"), files);
        var expected = new RunDirectory(expectedDir);
        var actual = new RunDirectory(actualDir);
        foreach (string file in files)
        {
            string name = Path.GetFileName(file);
            if (file == "summary.json")
            {
                Assert.Equal(Json(expected.ReadSummary() with { WallSeconds = 0 }), Json(actual.ReadSummary() with { WallSeconds = 0 }));
            }
            else if (file == "metrics.jsonl")
            {
                Assert.Equal(expected.ReadMetrics().Select(m => Json(m with { TokensPerS = 0 })), actual.ReadMetrics().Select(m => Json(m with { TokensPerS = 0 })));
            }
            else if (file.StartsWith("checkpoints", StringComparison.Ordinal) && name.StartsWith("step_", StringComparison.Ordinal) && name.EndsWith(".json", StringComparison.Ordinal))
            {
                long step = long.Parse(name[5..^5], CultureInfo.InvariantCulture);
                Assert.Equal(Json(expected.ReadSidecar(step) with { WallSeconds = 0 }), Json(actual.ReadSidecar(step) with { WallSeconds = 0 }));
            }
            else
            {
                Assert.True(File.ReadAllBytes(Path.Combine(expectedDir, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actualDir, file))),
                    $"{file} differs from the uninterrupted run's");
            }
        }

        Assert.NotEmpty(actual.ReadProbeLines());
        Assert.NotNull(actual.ReadSummary().Probes);
    }

    private static string Json<T>(T record)
        where T : class => RunJson.ToNode(record).ToJsonString();
}
