using System.Text;
using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Runs.Tests;

/// <summary>Paths, the lock, and writes that a kill at any instant leaves either as they were or complete.</summary>
public sealed class RunDirectoryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-rundir-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private RunDirectory Run(string name = "run") => new(Path.Combine(_root, name));

    private static CheckpointSidecar Sidecar(long step) => new(
        step, step * 64, step, [1UL, ulong.MaxValue, 3UL, 4UL], 1.5, 0.9, "mess3", new Dictionary<string, double> { ["x"] = 0.05 },
        RunRecordTests.Config().Model, 7);

    [Fact]
    public void TheLayoutIsTheDocumentedOne()
    {
        var run = Run();
        string R(params string[] parts) => Path.Combine([run.Path, .. parts]);
        Assert.Equal(R("config.json"), run.ConfigPath);
        Assert.Equal(R("metrics.jsonl"), run.MetricsPath);
        Assert.Equal(R("summary.json"), run.SummaryPath);
        Assert.Equal(R("probes.jsonl"), run.ProbesPath);
        Assert.Equal(R("checkpoints", "step_0000400.pt"), run.CheckpointPath(400));
        Assert.Equal(R("checkpoints", "step_0000400.optim.pt"), run.OptimizerStatePath(400));
        Assert.Equal(R("checkpoints", "step_0000400.json"), run.SidecarPath(400));
        Assert.Equal(run.SidecarPath(400), RunDirectory.SidecarPathOf(run.CheckpointPath(400)));
        Assert.Equal(R("probe", "probe.json"), run.Probe.ResultPath);
        Assert.Equal(R("probe", "beliefs_true.npy"), run.Probe.TrueBeliefsPath);
        Assert.Equal(R("probe", "beliefs_pred.blocks.3.hook_resid_post.npy"), run.Probe.PredictedPath("blocks.3.hook_resid_post"));
        Assert.Equal(R("probe", "emergence", "step_0000040.npy"), run.Probe.EmergenceStepPath(40));
        Assert.Equal(R("probe.json"), run.ProbeAtRoot.ResultPath);
        Assert.Equal(R("figures"), run.FiguresPath);
        Assert.Equal(R("report.html"), run.ReportPath);
    }

    [Fact]
    public void OneWriterAtATimeAndTheHolderIsNamed()
    {
        var run = Run();
        using (var writer = run.Lock("belieflens run mess3\n--out x"))
        {
            var holder = run.ReadLockHolder()!;
            Assert.Equal((Environment.ProcessId, Environment.MachineName), (holder.Pid, holder.Host));
            var error = Assert.Throws<BeliefLensInputException>(() => new RunDirectory(run.Path).Lock("second"));
            Assert.StartsWith($"{run.Path}: in use by pid {Environment.ProcessId} on {Environment.MachineName} since ", error.Message, StringComparison.Ordinal);
            Assert.Contains("(belieflens run mess3 --out x)", error.Message, StringComparison.Ordinal); // one line, whatever the command held
            Assert.DoesNotContain('\n', error.Message);
        }

        // Released: the holder record is gone and the next writer gets the lock.
        Assert.Null(run.ReadLockHolder());
        using var next = run.Lock("next");
        Assert.Equal("next", run.ReadLockHolder()!.Command);
    }

    [Fact]
    public void WritesNeedTheLockAndStayInsideTheDirectory()
    {
        var run = Run();
        var writer = run.Lock();
        Assert.Throws<ArgumentException>(() => writer.WriteArray(Path.Combine(_root, "elsewhere.npy"), [1.0], 1));
        Assert.Throws<ArgumentException>(() => writer.WriteArray(Path.Combine(run.Path, "..", "escape.npy"), [1.0], 1));
        writer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => writer.WriteConfig(RunRecordTests.Config()));
        Assert.False(File.Exists(run.ConfigPath));
    }

    [Fact]
    public void ADirectoryGivenWithATrailingSeparatorIsTheSameDirectory()
    {
        var run = new RunDirectory(Path.Combine(_root, "run") + Path.DirectorySeparatorChar);
        using (var writer = run.Lock())
        {
            writer.WriteConfig(RunRecordTests.Config());
            writer.WriteArray(run.Probe.EmergenceStepPath(0), [1.0], 1);
        }

        Assert.True(Run().HoldsRun);
        Assert.Throws<BeliefLensInputException>(() =>
        {
            using var first = Run().Lock();
            using var second = run.Lock();
        });
    }

    [Fact]
    public void LeftoversOfAKilledWriterDoNotMakeADirectoryNonEmptyAndAreRemovedByTheNextWriter()
    {
        var run = Run();
        Directory.CreateDirectory(Path.Combine(run.Path, "probe"));
        File.WriteAllText(run.ConfigPath + ".tmp", "{\"proc");
        File.WriteAllText(Path.Combine(run.Path, "probe", "beliefs_true.npy.tmp-4242"), "half");
        File.WriteAllText(Path.Combine(run.Path, ".lock"), string.Empty);
        File.WriteAllText(Path.Combine(run.Path, ".lock-holder.json"), "stale");
        Assert.False(run.IsEmpty); // the probe folder is not a leftover file
        Directory.Delete(Path.Combine(run.Path, "probe"), recursive: true);
        Assert.True(run.IsEmpty);
        Assert.False(run.HoldsRun);

        Directory.CreateDirectory(run.CheckpointsPath);
        File.WriteAllText(run.CheckpointPath(20) + ".tmp", "half");
        using (run.Lock())
        {
            Assert.Equal([".lock", ".lock-holder.json"], Directory.GetFiles(run.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
            Assert.Empty(Directory.GetFiles(run.CheckpointsPath));
        }

        // A temp-looking file that is not one of the run's own is the user's: it stays, and the directory is not empty.
        Directory.Delete(run.CheckpointsPath);
        File.WriteAllText(Path.Combine(run.Path, "notes.tmp"), "mine");
        Assert.False(run.IsEmpty);
        using (run.Lock())
        {
            Assert.Equal("mine", File.ReadAllText(Path.Combine(run.Path, "notes.tmp")));
        }
    }

    [Fact]
    public void ACheckpointIsCompleteOnlyOnceItsModelFileIsWrittenLast()
    {
        var run = Run();
        using var writer = run.Lock();
        writer.WriteCheckpoint(20, "optim"u8, Sidecar(20), "model"u8);
        writer.WriteCheckpoint(100, "optim"u8, Sidecar(100), "model"u8);
        Assert.Equal([20L, 100L], run.CompleteCheckpointSteps());

        // A kill after the sidecar but before the model: not a checkpoint.
        File.Delete(run.CheckpointPath(100));
        Assert.Equal([20L], run.CompleteCheckpointSteps());
        Assert.Null(RunJson.FirstDifference(Sidecar(20), run.ReadSidecar(20)));
        Assert.Equal([1UL, ulong.MaxValue, 3UL, 4UL], run.ReadSidecar(20).RngState);
        Assert.Equal("model"u8.ToArray(), File.ReadAllBytes(run.CheckpointPath(20)));
        Assert.Throws<ArgumentException>(() => writer.WriteCheckpoint(30, "o"u8, Sidecar(20), "m"u8));

        // Loading a copied checkpoint on its own finds its sidecar beside it.
        string copy = Path.Combine(_root, "elsewhere", "step_0000020.pt");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(run.CheckpointPath(20), copy);
        Assert.Null(RunDirectory.ReadSidecarOf(copy));
        File.Copy(run.SidecarPath(20), RunDirectory.SidecarPathOf(copy));
        Assert.Equal(7UL, RunDirectory.ReadSidecarOf(copy)!.Seed);
    }

    [Fact]
    public void ResumingMetricsDropsLaterLinesAndACutShortLineButKeepsTheRestByteForByte()
    {
        var run = Run();
        using var writer = run.Lock();
        using (var log = writer.OpenMetrics(0))
        {
            for (long step = 5; step <= 30; step += 5)
            {
                log.Append(new MetricsLine(step, step * 64, 1.0 / step, 0.01, 1000 + step));
            }
        }

        byte[] whole = File.ReadAllBytes(run.MetricsPath);
        File.AppendAllText(run.MetricsPath, "{\"step\":35,\"tok"); // a kill in the middle of a line
        Assert.Equal(30, run.ReadMetrics()[^1].Step);

        using (writer.OpenMetrics(keepThroughStep: 30))
        {
        }

        Assert.Equal(whole, File.ReadAllBytes(run.MetricsPath));
        using (var log = writer.OpenMetrics(keepThroughStep: 20))
        {
            log.Append(new MetricsLine(25, 25 * 64, 0.04, 0.01, 1));
        }

        Assert.Equal([5L, 10, 15, 20, 25], run.ReadMetrics().Select(m => m.Step));
        string[] lines = File.ReadAllLines(run.MetricsPath);
        Assert.Equal(Encoding.UTF8.GetString(whole).Split('\n')[..4], lines[..4]);
    }

    [Fact]
    public void ProbesJsonlHasOneLinePerStepInStepOrder()
    {
        var run = Run();
        using var writer = run.Lock();
        Assert.Empty(run.ReadProbeLines());
        writer.RecordProbe(new ProbeLine(40, 2560, []));
        writer.RecordProbe(new ProbeLine(0, 0, []));
        writer.RecordProbe(new ProbeLine(20, 1280, []));
        writer.RecordProbe(new ProbeLine(40, 99, []));
        Assert.Equal([(0L, 0L), (20, 1280), (40, 99)], run.ReadProbeLines().Select(l => (l.Step, l.Tokens)));
        Assert.Equal(3, File.ReadAllLines(run.ProbesPath).Length);
        Assert.False(File.Exists(run.ProbesPath + ".tmp"));
    }

    [Fact]
    public void AProbeResultIsCompleteOnlyWithItsTrueBeliefsWrittenLast()
    {
        var run = Run();
        using var writer = run.Lock();
        var result = new ProbeResult("mess3", "paper", 10, true, 2, []);
        var beliefs = new DenseMatrix([0.5, 0.5, 0.25, 0.75], 2, 2);
        writer.WriteProbeResult(run.Probe, result, new Dictionary<string, DenseMatrix> { ["blocks.0.hook_resid_post"] = beliefs }, beliefs, [0.4, 0.6], beliefs);
        Assert.True(run.Probe.IsComplete);
        Assert.Null(RunJson.FirstDifference(result, run.Probe.ReadResult()));
        Assert.Equal([0.25, 0.75], NpyFile.Read(run.Probe.PredictedPath("blocks.0.hook_resid_post")).Data[2..]);
        Assert.Equal([0.4, 0.6], NpyFile.Read(run.Probe.PrefixProbabilityPath).Data);

        // Rewriting starts by withdrawing the completion mark.
        Assert.ThrowsAny<Exception>(() => writer.WriteProbeResult(run.Probe, result, new Dictionary<string, DenseMatrix> { ["x"] = null! }, beliefs, [0.4, 0.6]));
        Assert.False(run.Probe.IsComplete);
    }

    [Fact]
    public void ReplacingARunDeletesItsOutputsButNotOtherFiles()
    {
        var run = Run();
        using var writer = run.Lock();
        writer.WriteConfig(RunRecordTests.Config());
        writer.WriteCheckpoint(1, "o"u8, Sidecar(1), "m"u8);
        writer.RecordProbe(new ProbeLine(0, 0, []));
        writer.WriteArray(run.Probe.EmergenceStepPath(0), [1.0], 1);
        File.WriteAllText(Path.Combine(run.Path, "notes.txt"), "mine");
        Assert.True(run.HoldsRun);

        writer.ClearForReplacement();
        Assert.False(run.HoldsRun);
        Assert.Empty(run.CompleteCheckpointSteps());
        Assert.Empty(run.ReadProbeLines());
        Assert.False(Directory.Exists(run.Probe.Path));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(run.Path, "notes.txt")));
    }

    [Fact]
    public void MissingFilesAreNamed()
    {
        var run = Run();
        Assert.Equal($"{run.ConfigPath}: does not exist (this directory holds no run).", Assert.Throws<BeliefLensInputException>(run.ReadConfig).Message);
        Assert.Contains("training has not finished", Assert.Throws<BeliefLensInputException>(run.ReadSummary).Message, StringComparison.Ordinal);
        Assert.Empty(run.ReadMetrics());
        Assert.Empty(run.CompleteCheckpointSteps());
        Assert.True(run.IsEmpty);
    }
}
