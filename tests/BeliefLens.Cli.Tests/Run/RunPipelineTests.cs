using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Cli.Run;
using BeliefLens.Runs;
using BeliefLens.Core;
using BeliefLens.Torch;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>One finished tiny run, shared by the tests of a class; tests that change it work on a copy.</summary>
public sealed class FinishedTinyRun : IDisposable
{
    private readonly TempDir _temp = new();

    public FinishedTinyRun()
    {
        Experiment = TinyExperiment.Create();
        Observer = new RecordingObserver();
        RunPipeline.Execute(Experiment, Directory, force: false, Observer, CancellationToken.None);
    }

    public Experiment Experiment { get; }

    public string Directory => _temp.Combine("run");

    internal RecordingObserver Observer { get; }

    public void Dispose() => _temp.Dispose();
}

/// <summary>The run directory a tiny end-to-end run leaves, and how a second run and `report` treat it.</summary>
public sealed class RunPipelineTests(FinishedTinyRun run) : IClassFixture<FinishedTinyRun>
{
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    private static JsonObject ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

    [Fact]
    public void SummaryHoldsTheContractFields()
    {
        var summary = ReadJson(new RunDirectory(run.Directory).SummaryPath);
        Assert.Equal("mess3", summary["process"]!.GetValue<string>());
        Assert.Equal(40, summary["steps"]!.GetValue<long>());
        Assert.Equal(40L * 16 * 4, summary["tokens"]!.GetValue<long>());
        Assert.True(summary["wall_seconds"]!.GetValue<double>() > 0);
        double floor = summary["loss_floor"]!.GetValue<double>();
        double loss = summary["validation_loss"]!.GetValue<double>();

        // The floor is the mean myopic entropy over the 4 positions, computed exactly (81 sequences).
        var process = run.Experiment.ResolveProcess();
        Assert.True(summary["validation_exact"]!.GetValue<bool>());
        Assert.InRange(floor, 0.5, Math.Log(3));
        Assert.True(loss >= floor - 1e-6, $"loss {loss} is below the floor {floor}");
        Assert.Equal(3, process.VocabSize);

        var probes = summary["probes"]!.AsArray().Select(p => p!.AsObject()).ToList();
        Assert.Equal([.. run.Experiment.Probe.Sites, "concat"], probes.Select(p => p["site"]!.GetValue<string>()));
        foreach (var p in probes)
        {
            foreach (string key in new[] { "mse_heldout", "r2_heldout", "shuffle_mse", "untrained_mse" })
            {
                Assert.True(p[key] is JsonValue v && double.IsFinite(v.GetValue<double>()), $"{p["site"]}: {key} missing or not finite");
            }

            Assert.True(p["mse_heldout"]!.GetValue<double>() >= 0);
            Assert.True(p["shuffle_mse"]!.GetValue<double>() > 0);
        }

        Assert.Equal("paper", summary["probe_weighting"]!.GetValue<string>());
    }

    [Fact]
    public void ProbesJsonlHasStepZeroAndEveryCheckpoint()
    {
        var steps = new RunDirectory(run.Directory).ReadProbeLines().Select(l => l.Step).ToList();
        var checkpoints = new RunDirectory(run.Directory).CompleteCheckpointSteps();
        Assert.Equal(run.Experiment.Training.CheckpointSteps().ToList(), checkpoints);
        Assert.Equal([0L, .. checkpoints], steps);
        Assert.Equal(steps.Count, File.ReadAllLines(new RunDirectory(run.Directory).ProbesPath).Length);
        foreach (var line in new RunDirectory(run.Directory).ReadProbeLines())
        {
            long step = line.Step;
            Assert.Equal(step * 16 * 4, line.Tokens);
            Assert.True(File.Exists(new RunDirectory(run.Directory).Probe.EmergenceStepPath(step)), $"no emergence file for step {step}");
        }
    }

    [Fact]
    public void ConfigJsonParsesBackAsTheSameExperiment()
    {
        var config = ReadJson(new RunDirectory(run.Directory).ConfigPath);
        Assert.Equal(run.Experiment, Experiment.FromJson(config));
        Assert.Equal("mess3", config["process"]!.GetValue<string>());
    }

    [Fact]
    public void ReportIsSelfContainedAndFiguresDecode()
    {
        string html = File.ReadAllText(new RunDirectory(run.Directory).ReportPath);
        Assert.Contains("data:image/png;base64,", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"figures/", html, StringComparison.Ordinal);
        Assert.DoesNotContain("src=\"/", html, StringComparison.Ordinal);
        Assert.Contains("blocks.0.hook_resid_post", html, StringComparison.Ordinal);

        var pngs = Directory.GetFiles(new RunDirectory(run.Directory).FiguresPath, "*.png");
        Assert.True(pngs.Length >= 6, $"only {pngs.Length} PNG figures");
        foreach (string png in pngs)
        {
            byte[] bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 1000, $"{png} is only {bytes.Length} bytes");
            Assert.Equal(PngSignature, bytes[..8]);

            // IHDR: width and height are non-zero.
            Assert.True(BitConverter.ToUInt32([.. bytes[16..20].Reverse()]) > 0 && BitConverter.ToUInt32([.. bytes[20..24].Reverse()]) > 0);
        }

        Assert.NotEmpty(Directory.GetFiles(new RunDirectory(run.Directory).FiguresPath, "*.svg"));
    }

    [Fact]
    public void StagesRanInOrder()
    {
        Assert.Equal(["train", "probe", "report"], run.Observer.Stages.Select(s => s.Name));
        Assert.Equal(40, run.Observer.TrainingSteps[^1]);
    }

    [Fact]
    public void SecondIdenticalRunSkipsTrainingAndProbingButRendersAgain()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        var before = Snapshot(dir);
        File.Delete(new RunDirectory(dir).ReportPath);
        Directory.Delete(new RunDirectory(dir).FiguresPath, recursive: true);

        var observer = new RecordingObserver();
        RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, observer, CancellationToken.None);

        Assert.Equal("already finished; skipped", observer.DetailOf("train"));
        Assert.Equal("all checkpoints already probed; skipped", observer.DetailOf("probe"));
        Assert.Empty(observer.TrainingSteps);
        Assert.Equal(before, Snapshot(dir));
        Assert.True(File.Exists(new RunDirectory(dir).ReportPath));
        Assert.NotEmpty(Directory.GetFiles(new RunDirectory(dir).FiguresPath, "*.png"));
    }

    [Fact]
    public void DeletingTheFinalProbeRedoesOnlyTheFinalProbe()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        var before = Snapshot(dir);
        var probesBefore = new RunDirectory(dir).ReadProbeLines().Select(l => RunJson.ToNode(l).ToJsonString()).ToList();
        File.Delete(new RunDirectory(dir).Probe.ResultPath);
        File.Delete(new RunDirectory(dir).Probe.TrueBeliefsPath);

        var observer = new RecordingObserver();
        RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, observer, CancellationToken.None);

        Assert.Equal("already finished; skipped", observer.DetailOf("train"));
        Assert.Equal("1 checkpoints", observer.DetailOf("probe"));
        var after = Snapshot(dir);
        foreach (var (file, stamp) in before.Where(kv => kv.Key.StartsWith("checkpoints", StringComparison.Ordinal) || kv.Key == "metrics.jsonl" || kv.Key == "config.json"))
        {
            Assert.Equal(stamp, after[file]);
        }

        // The probe is deterministic: the redone final probe gives the same numbers as before.
        Assert.Equal(probesBefore, new RunDirectory(dir).ReadProbeLines().Select(l => RunJson.ToNode(l).ToJsonString()).ToList());
        Assert.Equal(ReadJson(new RunDirectory(run.Directory).SummaryPath).ToJsonString(), ReadJson(new RunDirectory(dir).SummaryPath).ToJsonString());
    }

    [Fact]
    public void AMissingFinalProbeLineOrSummaryProbesIsRepaired()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        var lines = File.ReadAllLines(new RunDirectory(dir).ProbesPath);
        File.WriteAllLines(new RunDirectory(dir).ProbesPath, lines[..^1]);
        var summary = ReadJson(new RunDirectory(dir).SummaryPath);
        summary.Remove("probes");
        File.WriteAllText(new RunDirectory(dir).SummaryPath, summary.ToJsonString());

        RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, new RecordingObserver(), CancellationToken.None);

        Assert.Equal(lines, File.ReadAllLines(new RunDirectory(dir).ProbesPath));
        Assert.Equal(ReadJson(new RunDirectory(run.Directory).SummaryPath)["probes"]!.ToJsonString(), ReadJson(new RunDirectory(dir).SummaryPath)["probes"]!.ToJsonString());
    }

    [Fact]
    public void AKillBetweenTheLastCheckpointAndSummaryJsonRedoesOnlyTheFinalValidation()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        var before = Snapshot(dir);
        File.Delete(new RunDirectory(dir).SummaryPath);

        var observer = new RecordingObserver();
        RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, observer, CancellationToken.None);

        Assert.Equal("resuming from the last checkpoint", observer.DetailOf("train"));
        Assert.Empty(observer.TrainingSteps);
        Assert.Equal("all checkpoints already probed; skipped", observer.DetailOf("probe"));
        var expected = new RunDirectory(run.Directory).ReadSummary();
        var actual = new RunDirectory(dir).ReadSummary();
        Assert.Null(RunJson.FirstDifference(expected with { WallSeconds = 0 }, actual with { WallSeconds = 0 })); // probes included
        Assert.Equal(before.Where(kv => kv.Key != "summary.json"), Snapshot(dir).Where(kv => kv.Key != "summary.json"));
    }

    [Fact]
    public void ADifferentExperimentIsRefusedByFieldAndForceReplacesIt()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        var before = Snapshot(dir);
        var other = TinyExperiment.Create(seed: 8);

        var error = Assert.Throws<BeliefLensInputException>(() => RunPipeline.Execute(other, dir, force: false, new RecordingObserver(), CancellationToken.None));
        Assert.Contains("training.seed", error.Message, StringComparison.Ordinal);
        Assert.Contains("--force", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Equal(before, Snapshot(dir));

        RunPipeline.Execute(other, dir, force: true, new RecordingObserver(), CancellationToken.None);
        Assert.Equal(other, Experiment.FromJson(ReadJson(new RunDirectory(dir).ConfigPath)));
        Assert.Equal([0L, .. new RunDirectory(dir).CompleteCheckpointSteps()], new RunDirectory(dir).ReadProbeLines().Select(l => l.Step));
        Assert.NotEqual(
            InterruptedRunTests.Weights(new RunDirectory(run.Directory).CheckpointPath(40)),
            InterruptedRunTests.Weights(new RunDirectory(dir).CheckpointPath(40)));
    }

    [Fact]
    public void AProbeSettingChangeIsAlsoADifferentExperiment()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        var json = TinyExperiment.Json();
        json["probe"]!["weighting"] = "prob";
        var error = Assert.Throws<BeliefLensInputException>(() =>
            RunPipeline.Execute(Experiment.FromJson(json), dir, force: false, new RecordingObserver(), CancellationToken.None));
        Assert.Contains("probe.weighting", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANonEmptyDirectoryWithoutARunIsRefused()
    {
        using var temp = new TempDir();
        File.WriteAllText(temp.Combine("notes.txt"), "mine");
        var error = Assert.Throws<BeliefLensInputException>(() =>
            RunPipeline.Execute(TinyExperiment.Create(), temp.Path, force: false, new RecordingObserver(), CancellationToken.None));
        Assert.Contains("--force", error.Message, StringComparison.Ordinal);
        Assert.Equal("mine", File.ReadAllText(temp.Combine("notes.txt")));
    }

    [Fact]
    public void TheDistanceFigureDrawsAndPrintsTheProbesOwnAnalysis()
    {
        // probe.json's distance R² (computed while probing) and the report's figure (rendered later from the saved
        // arrays) must be one analysis: the same sampled pairs, bit for bit the same R².
        string dir = run.Directory;
        var site = ReadJson(new RunDirectory(dir).Probe.ResultPath)["sites"]!.AsArray().Select(s => s!.AsObject())
            .First(s => s["site"]!.GetValue<string>() == RunPipeline.EmergenceSite(run.Experiment.Model));
        var truth = NpyFile.Read(new RunDirectory(dir).Probe.TrueBeliefsPath);
        var predicted = NpyFile.Read(new RunDirectory(dir).Probe.PredictedPath(site["site"]!.GetValue<string>()));
        var next = NpyFile.Read(new RunDirectory(dir).Probe.NextTokenPath);
        var analysis = RunReport.Distances(run.Experiment, new DenseMatrix(predicted.Data, predicted.Shape[0], predicted.Shape[1]),
            new DenseMatrix(truth.Data, truth.Shape[0], truth.Shape[1]), new DenseMatrix(next.Data, next.Shape[0], next.Shape[1]));
        Assert.Equal(site["distance_points"]!.GetValue<int>(), analysis.Points);
        Assert.Equal(site["distance_r2_predicted_vs_beliefs"]!.GetValue<double>(), analysis.R2PredictedVsTrueBeliefs);
        Assert.Equal(site["distance_r2_predicted_vs_next_token"]!.GetValue<double>(), analysis.R2PredictedVsNextToken);
        Assert.Equal(analysis.Pairs, analysis.PairDistances!.Predicted.Length);

        string r2 = analysis.R2PredictedVsTrueBeliefs.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        string html = System.Net.WebUtility.HtmlDecode(File.ReadAllText(new RunDirectory(dir).ReportPath));
        Assert.Contains($"true beliefs (left, R² {r2})", html, StringComparison.Ordinal); // the figure's caption
        Assert.Contains($"true beliefs with R² {r2}", html, StringComparison.Ordinal); // the summary paragraph
    }

    [Fact]
    public void ReportRendersFromFilesAlone()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);
        Directory.Delete(new RunDirectory(dir).CheckpointsPath, recursive: true);
        Directory.Delete(new RunDirectory(dir).FiguresPath, recursive: true);
        File.Delete(new RunDirectory(dir).ReportPath);

        Assert.Equal(new RunDirectory(dir).ReportPath, RunReport.Render(dir));
        Assert.Contains("data:image/png;base64,", File.ReadAllText(new RunDirectory(dir).ReportPath), StringComparison.Ordinal);
        Assert.Equal(
            Directory.GetFiles(new RunDirectory(run.Directory).FiguresPath).Select(Path.GetFileName).Order(),
            Directory.GetFiles(new RunDirectory(dir).FiguresPath).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void ACheckpointCopiedWithItsSidecarIsProbedOnItsOwn()
    {
        using var temp = new TempDir();
        var source = new RunDirectory(run.Directory);
        string copy = temp.Combine("elsewhere", "step_0000040.pt");
        Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
        File.Copy(source.CheckpointPath(40), copy);
        File.Copy(source.SidecarPath(40), RunDirectory.SidecarPathOf(copy));

        // Neither the process nor a model config is given: the sidecar has both, and the untrained control's seed.
        const string Site = "blocks.0.hook_resid_post";
        string outDir = temp.Combine("out");
        var (code, output, _) = ChildCli.Run("probe", "--checkpoint", copy, "--sites", Site, "--round", "none", "--max-sequences", "200", "--out", outDir);
        Assert.True(code == 0, output);
        var probed = new RunDirectory(outDir).ProbeAtRoot.ReadResult();
        Assert.Equal("mess3(x=0.05,alpha=0.85)", probed.Process); // the run's parameters, from the sidecar
        Assert.Equal(source.Probe.ReadResult().Process, probed.Process);

        // The same checkpoint, inputs and untrained network as the run's final probe: the in-sample numbers agree exactly.
        var final = source.Probe.ReadResult().Sites.Single(s => s.Site == Site);
        var site = Assert.Single(probed.Sites);
        Assert.Equal(final.MseInsample, site.MseInsample);
        Assert.Equal(final.UntrainedMse, site.UntrainedMse);

        // Without its sidecar the checkpoint's model is unknown: one line asking for it.
        File.Delete(RunDirectory.SidecarPathOf(copy));
        (code, _, string error) = ChildCli.Run("probe", "--checkpoint", copy, "mess3", "--out", temp.Combine("out2"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: --config: ", error, StringComparison.Ordinal);
        Assert.Contains("has no sidecar (step_0000040.json)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ProbingARunDirectoryRecordsOneLinePerCheckpointElsewhere()
    {
        using var temp = new TempDir();
        var (code, _, error) = ChildCli.Run("probe", "--checkpoint", run.Directory, "--out", run.Directory);
        Assert.Equal(2, code);
        Assert.Equal("error: --out: is the run directory being probed; give another directory (the run's probes.jsonl belongs to the run).", error.Trim());

        string outDir = temp.Combine("out");
        (code, string output, _) = ChildCli.Run("probe", "--checkpoint", run.Directory, "--sites", "blocks.0.hook_resid_post", "--out", outDir);
        Assert.True(code == 0, output);
        var source = new RunDirectory(run.Directory);
        Assert.Equal(source.CompleteCheckpointSteps().Select(s => (s, s * 16 * 4)), new RunDirectory(outDir).ReadProbeLines().Select(l => (l.Step, l.Tokens)));
    }

    [Fact]
    public void ReportOnANonRunDirectoryIsAOneLineError()
    {
        using var temp = new TempDir();
        var error = Assert.Throws<BeliefLensInputException>(() => RunReport.Render(temp.Path));
        Assert.Contains("not a finished run", error.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(temp.Path));
    }

    /// <summary>Every file under the run except the rendered outputs, with its size, mtime and content hash.</summary>
    internal static Dictionary<string, string> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f))
            .Where(f => f != "report.html" && !f.StartsWith("figures", StringComparison.Ordinal) && !f.StartsWith("tensorboard", StringComparison.Ordinal))
            .ToDictionary(f => f, f =>
            {
                string full = Path.Combine(dir, f);
                return $"{File.GetLastWriteTimeUtc(full).Ticks}:{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(full)))}";
            });
}

/// <summary>Cancelling mid-training leaves a run that resumes to exactly the uninterrupted result.</summary>
public sealed class InterruptedRunTests(FinishedTinyRun run) : IClassFixture<FinishedTinyRun>
{
    [Fact]
    public void CancelledTrainingResumesToTheSameFinalWeights()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        using var cancel = new CancellationTokenSource();
        var observer = new RecordingObserver(cancel, cancelStep: 20);

        Assert.ThrowsAny<OperationCanceledException>(() => RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, observer, cancel.Token));
        Assert.Equal(20, observer.TrainingSteps[^1]);
        Assert.False(File.Exists(new RunDirectory(dir).SummaryPath));
        var partial = new RunDirectory(dir).CompleteCheckpointSteps();
        Assert.Equal(12, partial[^1]);

        var resumed = new RecordingObserver();
        RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, resumed, CancellationToken.None);
        Assert.Equal("resuming from the last checkpoint", resumed.DetailOf("train"));
        Assert.True(resumed.TrainingSteps[0] > 12);

        // Compare the numbers: .pt files are zip archives whose entries carry write times, so their bytes differ.
        foreach (long step in new long[] { 12, 40 })
        {
            Assert.Equal(Weights(new RunDirectory(run.Directory).CheckpointPath(step)), Weights(new RunDirectory(dir).CheckpointPath(step)));
        }

        var expected = JsonNode.Parse(File.ReadAllText(new RunDirectory(run.Directory).SummaryPath))!;
        var actual = JsonNode.Parse(File.ReadAllText(new RunDirectory(dir).SummaryPath))!;
        Assert.Equal(expected["validation_loss"]!.GetValue<double>(), actual["validation_loss"]!.GetValue<double>());
        Assert.Equal(expected["probes"]!.ToJsonString(), actual["probes"]!.ToJsonString());
        Assert.Equal(File.ReadAllLines(new RunDirectory(run.Directory).ProbesPath), File.ReadAllLines(new RunDirectory(dir).ProbesPath));

        // metrics.jsonl keeps one line per logged step: nothing duplicated by the resume.
        var metricSteps = File.ReadAllLines(new RunDirectory(dir).MetricsPath).Select(l => JsonNode.Parse(l)!["step"]!.GetValue<long>()).ToList();
        Assert.Equal(metricSteps.Distinct().Order(), metricSteps);
    }

    /// <summary>Every float32 weight of a checkpoint, in name order.</summary>
    internal static float[] Weights(string path)
    {
        var state = Checkpoints.LoadStateDict(path);
        try
        {
            return state.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Where(kv => kv.Value.dtype == TorchSharp.torch.float32)
                .SelectMany(kv => kv.Value.data<float>().ToArray()).ToArray();
        }
        finally
        {
            foreach (var t in state.Values)
            {
                t.Dispose();
            }
        }
    }

    [Fact]
    public void CancelledProbingResumesWithoutRetraining()
    {
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        TempDir.Copy(run.Directory, dir);

        // Pretend the run was killed while probing: the final probe and the later emergence lines are gone (probes.jsonl
        // is replaced whole by each line, so a kill leaves fewer lines, never a torn one).
        File.Delete(new RunDirectory(dir).Probe.ResultPath);
        File.Delete(new RunDirectory(dir).Probe.TrueBeliefsPath);
        var lines = File.ReadAllLines(new RunDirectory(dir).ProbesPath);
        File.WriteAllLines(new RunDirectory(dir).ProbesPath, lines[..2]);

        var observer = new RecordingObserver();
        RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, observer, CancellationToken.None);
        Assert.Equal("already finished; skipped", observer.DetailOf("train"));
        Assert.Equal($"{lines.Length - 2} checkpoints", observer.DetailOf("probe"));
        Assert.Equal(lines, File.ReadAllLines(new RunDirectory(dir).ProbesPath));
    }
}
