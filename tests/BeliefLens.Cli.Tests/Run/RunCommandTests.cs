using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>`belieflens run` and `belieflens report` through Program.Main: exit codes and one-line errors.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class RunCommandTests : IDisposable
{
    private readonly TempDir _temp = new();

    public void Dispose() => _temp.Dispose();

    private string WriteExperiment(JsonObject json, string name = "exp.json")
    {
        string path = _temp.Combine(name);
        File.WriteAllText(path, json.ToJsonString());
        return path;
    }

    private static void AssertOneLineError(string error, string expected)
    {
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownPresetListsTheValidOnes()
    {
        var (code, _, error) = Cli.Run("run", "mess4", "--out", _temp.Combine("out"));
        Assert.Equal(2, code);
        AssertOneLineError(error, "unknown preset 'mess4'; valid presets are mess3, rrxor, z1r, mess3-mixture");
        Assert.False(Directory.Exists(_temp.Combine("out")));
    }

    [Fact]
    public void MissingExperimentFileIsNamed()
    {
        var (code, _, error) = Cli.Run("run", _temp.Combine("nope.json"));
        Assert.Equal(2, code);
        AssertOneLineError(error, "nope.json' does not exist");
    }

    [Fact]
    public void MalformedExperimentFileNamesTheField()
    {
        var json = TinyExperiment.Json();
        json["training"]!["stepz"] = 5;
        var (code, _, error) = Cli.Run("run", WriteExperiment(json), "--out", _temp.Combine("out"));
        Assert.Equal(2, code);
        AssertOneLineError(error, "training.stepz: unknown field");

        string broken = _temp.Combine("broken.json");
        File.WriteAllText(broken, "{\n\"process\": \"mess3\",,\n}");
        (code, _, error) = Cli.Run("run", broken);
        Assert.Equal(2, code);
        AssertOneLineError(error, "broken.json: not valid JSON at line 2");
        Assert.False(Directory.Exists(_temp.Combine("out")));
    }

    [Fact]
    public void BadOverridesAndOptionsAreOneLineErrors()
    {
        string file = WriteExperiment(TinyExperiment.Json());
        var (code, _, error) = Cli.Run("run", file, "--set", "optimiser.lr=1");
        Assert.Equal(2, code);
        AssertOneLineError(error, "unknown section 'optimiser'");

        (code, _, error) = Cli.Run("run", file, "--set", "probe.weighting=uniform");
        Assert.Equal(2, code);
        AssertOneLineError(error, "probe.weighting: 'uniform' is not known");

        (code, _, error) = Cli.Run("run", file, "--long");
        Assert.Equal(2, code);
        AssertOneLineError(error, "--long: applies to presets only");

        (code, _, error) = Cli.Run("run", "mess3", "--stepz", "5");
        Assert.Equal(2, code);
        AssertOneLineError(error, "--stepz");
    }

    [Fact]
    public void RunWithStepsAndSetThenReport()
    {
        string out1 = _temp.Combine("out");
        var (code, output, error) = Cli.Run("run", WriteExperiment(TinyExperiment.Json()), "--out", out1, "--steps", "20", "--seed", "3", "--set", "probe.concat=false");
        Assert.True(code == 0, error);
        Assert.Equal(string.Empty, error);
        Assert.Contains("report.html", output, StringComparison.Ordinal);

        var experiment = Experiment.FromJson(JsonNode.Parse(File.ReadAllText(RunFiles.Config(out1)))!.AsObject());
        Assert.Equal(20, experiment.Training.Steps);
        Assert.Equal(Presets.WarmupFor(20), experiment.Training.WarmupSteps);
        Assert.Equal(Presets.EvalEveryFor(20), experiment.Training.EvalEvery);
        Assert.Equal(3UL, experiment.Training.Seed);
        Assert.False(experiment.Probe.Concat);
        var summary = JsonNode.Parse(File.ReadAllText(RunFiles.Summary(out1)))!;
        Assert.Equal(20, summary["steps"]!.GetValue<long>());
        Assert.DoesNotContain(summary["probes"]!.AsArray(), p => p!["site"]!.GetValue<string>() == "concat");

        // The same command again resumes and changes nothing; a different seed is refused by field.
        var before = RunPipelineTests.Snapshot(out1);
        (code, _, error) = Cli.Run("run", _temp.Combine("exp.json"), "--out", out1, "--steps", "20", "--seed", "3", "--set", "probe.concat=false");
        Assert.True(code == 0, error);
        Assert.Equal(before, RunPipelineTests.Snapshot(out1));
        (code, _, error) = Cli.Run("run", _temp.Combine("exp.json"), "--out", out1, "--steps", "20", "--seed", "4", "--set", "probe.concat=false");
        Assert.Equal(2, code);
        AssertOneLineError(error, "training.seed");
        Assert.Equal(before, RunPipelineTests.Snapshot(out1));

        File.Delete(RunFiles.Report(out1));
        (code, output, error) = Cli.Run("report", out1);
        Assert.True(code == 0, error);
        Assert.Contains(RunFiles.Report(out1), output, StringComparison.Ordinal);
        Assert.True(File.Exists(RunFiles.Report(out1)));
    }

    [Fact]
    public void ReportOnANonRunDirectoryIsAOneLineError()
    {
        var (code, _, error) = Cli.Run("report", _temp.Path);
        Assert.Equal(2, code);
        AssertOneLineError(error, "is not a finished run");

        (code, _, error) = Cli.Run("report", _temp.Combine("missing"));
        Assert.Equal(2, code);
        AssertOneLineError(error, "does not exist");

        (code, _, error) = Cli.Run("report");
        Assert.Equal(2, code);
        AssertOneLineError(error, "give the run directory");
    }
}
