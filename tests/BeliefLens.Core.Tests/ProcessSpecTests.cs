using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

public sealed class ProcessSpecTests
{
    private const string Even = """{"name":"even","type":"hmm","transitions":[[[0.5,0],[0,0]],[[0,0.5],[1,0]]],"tokens":["0","1"],"states":["A","B"]}""";

    [Fact]
    public void ParsesAValidHmm()
    {
        var process = ProcessSpec.Parse(Even);
        Assert.Equal("even", process.Name);
        Assert.Equal(2, process.VocabSize);
        Assert.Equal(["A", "B"], process.StateNames);
        Assert.Equal(2.0 / 3, process.InitialBelief[0], 14);
        Assert.Equal(BuiltinProcesses.Even().Transitions, process.Transitions);
    }

    [Fact]
    public void ParsesAGhmmAndRescalesIt()
    {
        // Twice the tom_quantum matrices: spectral radius 2, rescaled back to 1.
        var tom = BuiltinProcesses.TomQuantum();
        string json = ProcessSpec.ToJson(tom).Replace("\"initial\"", "\"ignored\"", StringComparison.Ordinal);
        var doubled = System.Text.Json.Nodes.JsonNode.Parse(json)!.AsObject();
        doubled.Remove("ignored");
        foreach (var matrix in doubled["transitions"]!.AsArray())
        {
            foreach (var row in matrix!.AsArray())
            {
                var values = row!.AsArray();
                for (int j = 0; j < values.Count; j++)
                {
                    values[j] = 2 * values[j]!.GetValue<double>();
                }
            }
        }

        var process = ProcessSpec.Parse(doubled.ToJsonString());
        for (int k = 0; k < tom.Transitions.Length; k++)
        {
            Assert.Equal(tom.Transitions[k], process.Transitions[k], 12);
        }

        Assert.Equal(tom.InitialBelief, process.InitialBelief);
    }

    [Fact]
    public void ExplicitInitialOverridesStationary()
    {
        var process = ProcessSpec.Parse("""{"type":"hmm","transitions":[[[0.5,0],[0,0]],[[0,0.5],[1,0]]],"initial":[0,1]}""");
        Assert.Equal([0.0, 1.0], process.InitialBelief);
        Assert.Equal("custom", process.Name);
    }

    [Theory]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1]]", "malformed JSON")]
    [InlineData("[1,2]", "(root)")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1]]],\"colour\":1}", "colour: unknown field")]
    [InlineData("{\"transitions\":[[[1]]]}", "type: is required")]
    [InlineData("{\"type\":\"markov\",\"transitions\":[[[1]]]}", "type: 'markov'")]
    [InlineData("{\"type\":\"hmm\"}", "transitions: is required")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[]}", "transitions: must be a non-empty")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[0.5,0.5],[1,0]],[[1,0]]]}", "transitions[1]: has 1 rows")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[0.5,0.5],[1]]]}", "transitions[0][1]: has 1 entries")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[0.5,\"a\"],[1,0]]]}", "transitions[0][0][1]:")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1.5,-0.5],[1,0]]]}", "transitions[0][0][0]: 1.5 is outside [0,1]")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[0.5,0.6],[1,0]]]}", "row 0 of Σx T[x] sums to")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1,0],[0,1]]]}", "initial: the stationary distribution is not unique")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1,0],[0,1]]],\"initial\":[0.5]}", "initial: has 1 entries")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1,0],[0,1]]],\"initial\":[0.5,0.6]}", "initial: sums to")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1]],[[0]]],\"tokens\":[\"a\"]}", "tokens: has 1 names")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1]],[[0]]],\"tokens\":[\"a\",\"a\"]}", "tokens: names must be unique")]
    [InlineData("{\"type\":\"hmm\",\"transitions\":[[[1]]],\"states\":[1]}", "states[0]: must be a string")]
    [InlineData("{\"name\":\"\",\"type\":\"hmm\",\"transitions\":[[[1]]]}", "name: must be a non-empty string")]
    [InlineData("{\"type\":\"hmm\",\"type\":\"ghmm\",\"transitions\":[[[1]]]}", "type: appears twice")]
    public void BadSpecsGiveOneLineErrorsNamingTheField(string json, string expected)
    {
        var ex = Assert.Throws<BeliefLensInputException>(() => ProcessSpec.Parse(json, "bad.json"));
        Assert.StartsWith("bad.json: ", ex.Message);
        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void ResolverLoadsFilesAndBuiltins()
    {
        string path = Path.Combine(Path.GetTempPath(), $"belieflens-spec-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Even);
        try
        {
            Assert.Equal("even", ProcessResolver.Resolve(path).Name);
            var withParams = Assert.Throws<BeliefLensInputException>(() => ProcessResolver.Resolve(path, new Dictionary<string, double> { ["p"] = 0.3 }));
            Assert.StartsWith("--param p:", withParams.Message);
        }
        finally
        {
            File.Delete(path);
        }

        Assert.Equal(0.3, ProcessResolver.Resolve("coin", new Dictionary<string, double> { ["p"] = 0.3 }).T(0, 0, 0));
        var missing = Assert.Throws<BeliefLensInputException>(() => ProcessResolver.Resolve("/nonexistent/x.json"));
        Assert.StartsWith("process:", missing.Message);
        var unknown = Assert.Throws<BeliefLensInputException>(() => ProcessResolver.Resolve("mess5"));
        Assert.StartsWith("process: unknown process 'mess5'", unknown.Message);
    }
}
