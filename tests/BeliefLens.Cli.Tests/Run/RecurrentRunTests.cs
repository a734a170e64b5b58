using BeliefLens.Cli.Run;
using BeliefLens.Runs;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>The whole pipeline (train → probe every checkpoint → figures → report) with a recurrent model.</summary>
public sealed class RecurrentRunTests
{
    [Fact]
    public void ATinyGruRunTrainsProbesItsLayersAndRendersTheReport()
    {
        using var temp = new TempDir();
        var json = TinyExperiment.Json();
        Experiment.ApplyOverride(json, "model.architecture=gru");
        var experiment = Experiment.FromJson(json);
        string dir = temp.Combine("run");
        RunPipeline.Execute(experiment, dir, force: false, new RecordingObserver(), CancellationToken.None);

        var run = new RunDirectory(dir);
        Assert.Equal("gru", run.ReadConfig().Model.Architecture);
        var summary = run.ReadSummary();
        Assert.True(summary.ValidationLoss >= summary.LossFloor - 1e-6);
        Assert.Equal(["hook_input", "layers.0.hook_hidden", "concat"], summary.Probes!.Select(p => p.Site));
        Assert.All(summary.Probes!, p => Assert.True(p.MseHeldout is double m && double.IsFinite(m) && p.UntrainedMse is double u && double.IsFinite(u), p.Site));
        Assert.Equal([0L, .. run.CompleteCheckpointSteps()], run.ReadProbeLines().Select(l => l.Step));
        Assert.Contains("layers.0.hook_hidden", File.ReadAllText(run.ReportPath), StringComparison.Ordinal);

        // A checkpoint probed on its own finds its recurrent model in its sidecar.
        var info = ProbeOutput.DescribeCheckpoint(run.CheckpointPath(experiment.Training.Steps), null);
        Assert.Equal(experiment.Model, info.Config);
        using var model = Checkpoints.LoadSequenceModel(run.CheckpointPath(experiment.Training.Steps), info.Config);
        Assert.IsType<RecurrentModel>(model);
    }
}
