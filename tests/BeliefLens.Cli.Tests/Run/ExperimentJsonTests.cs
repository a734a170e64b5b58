using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Core;
using BeliefLens.Torch;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>Experiment JSON: round trips, field-naming errors, --set overrides and presets. No training.</summary>
public sealed class ExperimentJsonTests
{
    private static BeliefLensInputException Rejects(JsonObject json) =>
        Assert.Throws<BeliefLensInputException>(() => Experiment.FromJson(json));

    private static void AssertOneLine(string message) => Assert.DoesNotContain('\n', message);

    [Fact]
    public void ToJsonThenFromJsonGivesAnEqualExperiment()
    {
        var experiment = TinyExperiment.Create(seed: 12345678901234567890UL);
        var again = Experiment.FromJson(JsonFields.ParseObject(experiment.ToJsonString(), "test"));
        Assert.Equal(experiment, again);
        Assert.Equal(experiment.GetHashCode(), again.GetHashCode());
        Assert.Equal(experiment.ToJsonString(), again.ToJsonString());
        Assert.Equal(12345678901234567890UL, again.Training.Seed);
        Assert.Equal(["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "ln_final.hook_normalized"], again.Probe.Sites);
    }

    [Theory]
    [InlineData("mess3")]
    [InlineData("rrxor")]
    [InlineData("z1r")]
    [InlineData("mess3-mixture")]
    [InlineData("mess3-quantum")]
    [InlineData("bloch-walk")]
    [InlineData("frdn")]
    [InlineData("moon")]
    [InlineData("mess3-attn-x0.05")]
    [InlineData("mess3-attn-x0.5-2h")]
    [InlineData("coins-2")]
    [InlineData("coins-10")]
    [InlineData("dursley-wonka")]
    [InlineData("factored-small")]
    [InlineData("factored-paper")]
    public void EveryPresetParsesAndRoundTrips(string name)
    {
        foreach (bool longRun in new[] { false, true })
        {
            var experiment = Experiment.FromJson(Presets.Get(name, longRun));
            Assert.Equal(experiment.ResolveProcess().VocabSize, experiment.Model.DVocab);
            Assert.Equal(experiment, Experiment.FromJson(experiment.ToJson()));
        }
    }

    [Fact]
    public void ExperimentsThatDifferAreNotEqual()
    {
        var a = TinyExperiment.Create();
        var json = TinyExperiment.Json();
        json["process_params"]!["x"] = 0.1;
        Assert.NotEqual(a, Experiment.FromJson(json));
        json = TinyExperiment.Json();
        json["probe"]!["sites"] = new JsonArray("blocks.0.hook_resid_post");
        Assert.NotEqual(a, Experiment.FromJson(json));
    }

    [Theory]
    [InlineData(null, "colour", "colour")]
    [InlineData("training", "stepz", "training.stepz")]
    [InlineData("probe", "sitez", "probe.sitez")]
    [InlineData("model", "d_modle", "model.d_modle")]
    public void UnknownFieldsAreRejectedByName(string? section, string field, string named)
    {
        var json = TinyExperiment.Json();
        var target = section is null ? json : json[section]!.AsObject();
        target[field] = 1;
        var error = Rejects(json);
        Assert.StartsWith(named + ":", error.Message, StringComparison.Ordinal);
        Assert.Contains("unknown field", error.Message, StringComparison.Ordinal);
        AssertOneLine(error.Message);
    }

    [Theory]
    [InlineData("training", "steps", "\"many\"", "training.steps")]
    [InlineData("training", "batch_size", "1.5", "training.batch_size")]
    [InlineData("training", "seed", "-1", "training.seed")]
    [InlineData("probe", "concat", "\"yes\"", "probe.concat")]
    [InlineData("probe", "sites", "3", "probe.sites")]
    [InlineData("model", "d_model", "\"wide\"", "model.d_model")]
    [InlineData(null, "training", "[]", "training")]
    [InlineData(null, "process", "3", "process")]
    [InlineData("process_params", "x", "\"a lot\"", "process_params.x")]
    public void WrongTypesNameTheField(string? section, string field, string value, string named)
    {
        var json = TinyExperiment.Json();
        var target = section is null ? json : json[section]!.AsObject();
        target[field] = JsonNode.Parse(value);
        var error = Rejects(json);
        Assert.StartsWith(named + ":", error.Message, StringComparison.Ordinal);
        AssertOneLine(error.Message);
    }

    [Theory]
    [InlineData("training", "steps", "0", "training.steps")]
    [InlineData("training", "batch_size", "0", "training.batch_size")]
    [InlineData("training", "learning_rate", "-1", "training.learning_rate")]
    [InlineData("training", "optimizer", "\"adam\"", "training.optimizer")]
    [InlineData("model", "d_model", "0", "model.d_model")]
    [InlineData("model", "act_fn", "\"tanh\"", "model.act_fn")]
    [InlineData("probe", "weighting", "\"uniform\"", "probe.weighting")]
    [InlineData("probe", "sites", "[\"blocks.5.hook_resid_post\"]", "probe.sites")]
    [InlineData("probe", "sites", "[\"blocks.0.hook_resid_post\", \"blocks.0.hook_resid_post\"]", "probe.sites")]
    public void OutOfRangeValuesNameTheField(string section, string field, string value, string named)
    {
        var json = TinyExperiment.Json();
        json[section]![field] = JsonNode.Parse(value);
        var error = Rejects(json);
        Assert.StartsWith(named, error.Message, StringComparison.Ordinal);
        AssertOneLine(error.Message);
    }

    [Fact]
    public void DVocabMustMatchTheProcess()
    {
        var json = TinyExperiment.Json();
        json["model"]!["d_vocab"] = 2;
        var error = Rejects(json);
        Assert.StartsWith("model.d_vocab:", error.Message, StringComparison.Ordinal);
        Assert.Contains("set it to 3", error.Message, StringComparison.Ordinal);

        // Without d_vocab the model takes the process's vocabulary.
        json = TinyExperiment.Json();
        json["process"] = "rrxor";
        json["process_params"] = new JsonObject();
        json["model"]!.AsObject().Remove("d_vocab");
        Assert.Equal(2, Experiment.FromJson(json).Model.DVocab);
    }

    [Fact]
    public void MalformedJsonNamesTheSourceAndLine()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => JsonFields.ParseObject("{\n  \"process\": \"mess3\",\n  \"training\": {steps: 5}\n}", "exp.json"));
        Assert.StartsWith("exp.json: not valid JSON at line 3", error.Message, StringComparison.Ordinal);
        error = Assert.Throws<BeliefLensInputException>(() => JsonFields.ParseObject("[1, 2]", "exp.json"));
        Assert.StartsWith("exp.json: must be a JSON object", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DuplicateKeysAreAnInputError()
    {
        var error = Assert.Throws<BeliefLensInputException>(() =>
            Experiment.FromJson(JsonFields.ParseObject("{\"process\": \"mess3\", \"process\": \"z1r\"}", "exp.json")));
        Assert.StartsWith("exp.json:", error.Message, StringComparison.Ordinal);
        AssertOneLine(error.Message);
    }

    [Fact]
    public void OverridesSetNestedFieldsWithJsonTypes()
    {
        var json = Presets.Get("mess3");
        Experiment.ApplyOverride(json, "training.steps=5000");
        Experiment.ApplyOverride(json, "process_params.x=0.1");
        Experiment.ApplyOverride(json, "probe.weighting=prob");
        Experiment.ApplyOverride(json, "probe.concat=false");
        Experiment.ApplyOverride(json, "experiment=my run");
        Experiment.ApplyOverride(json, "probe.sites=blocks.3.hook_resid_post, blocks.2.hook_resid_post");
        var experiment = Experiment.FromJson(json);
        Assert.Equal(5000, experiment.Training.Steps);
        Assert.Equal(0.1, experiment.ProcessParameters["x"]);
        Assert.Equal(0.85, experiment.ProcessParameters["alpha"]);
        Assert.Equal("prob", experiment.Probe.Weighting);
        Assert.False(experiment.Probe.Concat);
        Assert.Equal("my run", experiment.Name);
        Assert.Equal(["blocks.3.hook_resid_post", "blocks.2.hook_resid_post"], experiment.Probe.Sites);

        // The other preset fields are kept.
        Assert.Equal(128, experiment.Training.BatchSize);
        Assert.Equal(64, experiment.Model.DModel);
    }

    [Fact]
    public void OverrideCreatesAMissingSection()
    {
        var json = new JsonObject { ["process"] = "z1r" };
        Experiment.ApplyOverride(json, "training.batch_size=8");
        Assert.Equal(8, Experiment.FromJson(json).Training.BatchSize);
    }

    [Theory]
    [InlineData("optimiser.lr=1", "--set optimiser.lr: unknown section 'optimiser'")]
    [InlineData("steps=5", "--set steps: unknown section 'steps'")]
    [InlineData("training.steps", "--set: 'training.steps' must look like section.field=value")]
    [InlineData("=5", "--set: '=5' must look like section.field=value")]
    public void BadOverridesAreRejected(string assignment, string expectedStart)
    {
        var json = Presets.Get("mess3");
        var error = Assert.Throws<BeliefLensInputException>(() => Experiment.ApplyOverride(json, assignment));
        Assert.StartsWith(expectedStart, error.Message, StringComparison.Ordinal);
        Assert.Equal(Presets.Get("mess3").ToJsonString(), json.ToJsonString());
    }

    [Fact]
    public void OverrideOfAnUnknownFieldInAKnownSectionIsRejectedWhenParsed()
    {
        var json = Presets.Get("mess3");
        Experiment.ApplyOverride(json, "training.stepz=5");
        Assert.StartsWith("training.stepz: unknown field", Rejects(json).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PresetsListAndUnknownPresetListsTheValidOnes()
    {
        Assert.Equal(
            ["mess3", "rrxor", "z1r", "mess3-mixture", "mess3-quantum", "bloch-walk", "frdn", "moon",
             "mess3-attn-x0.05", "mess3-attn-x0.15", "mess3-attn-x0.25", "mess3-attn-x0.5-1h", "mess3-attn-x0.5-2h",
             "dursley-wonka", "factored-small", "factored-paper", "coins-N"],
            Presets.Names);
        var error = Assert.Throws<BeliefLensInputException>(() => Presets.Get("mess4"));
        Assert.Contains("'mess4'", error.Message, StringComparison.Ordinal);
        foreach (string name in Presets.Names)
        {
            Assert.Contains(name, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void CompositePresetsFollowTheIssue()
    {
        var coins = Experiment.FromJson(Presets.Get("coins-5"));
        Assert.Equal(5, coins.ResolveProcess().Composite!.PartCount);
        Assert.Equal(2, coins.Model.DVocab);
        Assert.Throws<BeliefLensInputException>(() => Presets.Get("coins-0"));
        var paper = Experiment.FromJson(Presets.Get("factored-paper"));
        Assert.Equal((432, 120, 3, 40, 4, 480, 9), (paper.Model.DVocab, paper.Model.DModel, paper.Model.NHeads, paper.Model.DHead, paper.Model.NLayers, paper.Model.DMlp, paper.Model.NCtx));
        var dw = Experiment.FromJson(Presets.Get("dursley-wonka")).ResolveProcess();
        Assert.Equal(5, dw.Composite!.BosToken);
    }

    [Fact]
    public void PresetArchitecturesFollowTheIssue()
    {
        var rrxor = Experiment.FromJson(Presets.Get("rrxor"));
        Assert.Equal((4, 128, 4, 16, 512, 2), (rrxor.Model.NLayers, rrxor.Model.DModel, rrxor.Model.NHeads, rrxor.Model.DHead, rrxor.Model.DMlp, rrxor.Model.DVocab));
        var mess3 = Experiment.FromJson(Presets.Get("mess3"));
        Assert.Equal(TransformerConfig.PaperMess3(3), mess3.Model);
        Assert.Equal(new Dictionary<string, double> { ["x"] = 0.05, ["alpha"] = 0.85 }, mess3.ProcessParameters);
        Assert.True(Experiment.FromJson(Presets.Get("mess3", longRun: true)).Training.Steps > mess3.Training.Steps);
    }

    [Theory]
    [InlineData("mess3-quantum", "mess3", 3)]
    [InlineData("bloch-walk", "tom_quantum", 4)]
    [InlineData("frdn", "fanizza", 2)]
    [InlineData("moon", "post_quantum", 3)]
    public void QuantumPaperPresetsUseItsProcessesParametersAndModelSize(string name, string process, int vocab)
    {
        var expected = new Dictionary<string, Dictionary<string, double>>
        {
            ["mess3"] = new() { ["x"] = 0.05, ["alpha"] = 0.85 },
            ["tom_quantum"] = new() { ["alpha"] = 1, ["beta"] = Math.Sqrt(51) },
            ["fanizza"] = new() { ["alpha"] = 2000, ["lambda"] = 0.49 },
            ["post_quantum"] = new() { ["alpha"] = Math.E, ["beta"] = 0.5 },
        };
        foreach (bool longRun in new[] { false, true })
        {
            var experiment = Experiment.FromJson(Presets.Get(name, longRun));
            Assert.Equal(process, experiment.ProcessSpec);
            Assert.Equal(expected[process], experiment.ProcessParameters);
            Assert.Equal((TransformerConfig.Transformer, 4, 64, 8, vocab), (experiment.Model.Architecture, experiment.Model.NLayers, experiment.Model.DModel, experiment.Model.NCtx, experiment.Model.DVocab));
            long tokens = experiment.Training.Steps * experiment.Training.BatchSize * experiment.Model.NCtx;
            Assert.InRange(tokens, 1_000_000, 20_000_000); // a few million by default; the long run within the issue's 2·10^7
        }
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void SettingTheArchitectureOnAnyPresetGivesTheRecurrentModelAndItsSites(string architecture)
    {
        // "coins-N" names a family; coins-3 stands for it.
        foreach (string name in Presets.Names.Select(n => n == "coins-N" ? "coins-3" : n))
        {
            var json = Presets.Get(name);
            Experiment.ApplyOverride(json, $"model.architecture={architecture}");
            var experiment = Experiment.FromJson(json);
            var preset = Experiment.FromJson(Presets.Get(name));
            Assert.Equal(architecture, experiment.Model.Architecture);
            Assert.Equal((preset.Model.NLayers, preset.Model.DModel, preset.Model.NCtx), (experiment.Model.NLayers, experiment.Model.DModel, experiment.Model.NCtx));
            Assert.Equal(["hook_input", .. Enumerable.Range(0, preset.Model.NLayers).Select(l => $"layers.{l}.hook_hidden")], experiment.Probe.Sites);
            Assert.Equal(experiment, Experiment.FromJson(experiment.ToJson()));
            Assert.Equal(architecture, (string?)experiment.ToJson()["model"]!["architecture"]);
        }

        var wrongSite = Presets.Get("mess3");
        Experiment.ApplyOverride(wrongSite, $"model.architecture={architecture}");
        Experiment.ApplyOverride(wrongSite, "probe.sites=blocks.3.hook_resid_post");
        Assert.StartsWith("probe.sites: 'blocks.3.hook_resid_post' is not a hook site", Rejects(wrongSite).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownArchitectureIsRejectedInOneLineNamingTheField()
    {
        var json = Presets.Get("mess3");
        Experiment.ApplyOverride(json, "model.architecture=mamba");
        var message = Rejects(json).Message;
        Assert.Equal("model.architecture: 'mamba' is not supported; use one of transformer, rnn, lstm, gru.", message);
        AssertOneLine(message);
    }

    [Theory]
    [InlineData(100, 10, 10)]
    [InlineData(6000, 200, 200)]
    [InlineData(30, 3, 10)]
    public void ScheduleProportions(long steps, long warmup, long evalEvery)
    {
        Assert.Equal(warmup, Presets.WarmupFor(steps));
        Assert.Equal(evalEvery, Presets.EvalEveryFor(steps));
    }
}
