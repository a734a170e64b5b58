using System.Globalization;
using System.Text.Json;
using BeliefLens.Cli;

namespace BeliefLens.Cli.Tests;

/// <summary>The processes, beliefs, msp and bench commands, run in-process through Program.Main.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CoreCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("belieflens-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static (int Code, string Out, string Error) Run(params string[] args) => Tests.Run.Cli.Run(args);

    private string PathFor(string name) => Path.Combine(_directory, name);

    [Fact]
    public void BeliefsCsvFollowsTheContract()
    {
        string csv = PathFor("z1r.csv");
        var (code, _, error) = Run("beliefs", "z1r", "--depth", "2", "--out", csv);
        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        var lines = File.ReadAllLines(csv);
        Assert.Equal("prefix,probability,belief_0,belief_1,belief_2", lines[0]);
        Assert.Equal(8, lines.Length); // header + root + 2 + 4 (Z1R forbids nothing at depth 2 from π)
        var rows = lines.Skip(1).Select(line => line.Split(',')).ToDictionary(f => f[0], f => f[1..].Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        Assert.Equal([1, 1.0 / 3, 1.0 / 3, 1.0 / 3], rows[string.Empty]);
        AssertRow([0.5, 1.0 / 3, 2.0 / 3, 0], rows["0"]);
        AssertRow([1.0 / 3, 0.5, 0.5, 0], rows["1 0"]);
        AssertRow([1.0 / 6, 1, 0, 0], rows["1 1"]);
    }

    private static void AssertRow(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k], actual[k], 15);
        }
    }

    [Fact]
    public void BeliefsNumbersRoundTrip()
    {
        string csv = PathFor("mess3.csv");
        Assert.Equal(0, Run("beliefs", "mess3", "--param", "x=0.15", "--param", "alpha=0.6", "--depth", "3", "--out", csv).Code);
        var tree = Core.BeliefTree.Enumerate(Core.BuiltinProcesses.Mess3(0.15, 0.6), 3);
        var lines = File.ReadAllLines(csv);
        Assert.Equal(tree.Count + 1, lines.Length);
        for (int k = 0; k < tree.Count; k++)
        {
            var fields = lines[k + 1].Split(',');
            Assert.Equal(string.Join(' ', tree.Prefix(k)), fields[0]);
            Assert.Equal(Math.Exp(tree.LogProbability[k]), double.Parse(fields[1], CultureInfo.InvariantCulture));
            for (int j = 0; j < 3; j++)
            {
                Assert.Equal(tree.Belief(k)[j], double.Parse(fields[2 + j], CultureInfo.InvariantCulture)); // bit-exact
            }
        }
    }

    [Fact]
    public void BeliefsAcceptsAGhmmSpecFile()
    {
        string spec = PathFor("tom.json");
        File.WriteAllText(spec, Core.ProcessSpec.ToJson(Core.BuiltinProcesses.TomQuantum()));
        string csv = PathFor("tom.csv");
        Assert.Equal(0, Run("beliefs", spec, "--depth", "2", "--out", csv).Code);
        var lines = File.ReadAllLines(csv);
        Assert.Equal(1 + 1 + 4 + 16, lines.Length);
        Assert.Equal("0,0.25", string.Join(',', lines[2].Split(',')[..2]));
    }

    [Theory]
    [InlineData("process: unknown process 'nope'", "beliefs", "nope", "--depth", "2", "--out", "x.csv")]
    [InlineData("--depth: is required", "beliefs", "mess3", "--out", "x.csv")]
    [InlineData("--depth: -1", "beliefs", "mess3", "--depth", "-1", "--out", "x.csv")]
    [InlineData("--depth: 'deep' is not a whole number", "beliefs", "mess3", "--depth", "deep", "--out", "x.csv")]
    [InlineData("depth: 30 needs", "beliefs", "mess3", "--depth", "30", "--out", "x.csv")]
    [InlineData("--out: is required", "beliefs", "mess3", "--depth", "2")]
    [InlineData("--param beta: 'mess3' has no parameter 'beta'", "beliefs", "mess3", "--param", "beta=1", "--depth", "2", "--out", "x.csv")]
    [InlineData("--param: 'x' must look like name=value", "beliefs", "mess3", "--param", "x", "--depth", "2", "--out", "x.csv")]
    [InlineData("--param x: 0.9 is outside [0, 0.5]", "beliefs", "mess3", "--param", "x=0.9", "--depth", "2", "--out", "x.csv")]
    [InlineData("--colour: unknown option", "beliefs", "mess3", "--depth", "2", "--out", "x.csv", "--colour", "red")]
    [InlineData("process: spec file", "msp", "missing.json", "--depth", "2")]
    [InlineData("bench: unknown benchmark 'training'", "bench", "training")]
    [InlineData("--graph: 'g.jpg' must end in .dot, .gv, .graphml, .svg or .png", "msp", "z1r", "--depth", "5", "--graph", "g.jpg")]
    public void BadInputGivesOneLineErrorAndExitCode2(string expected, params string[] args)
    {
        var (code, _, error) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains(expected, error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists("x.csv"));
    }

    [Fact]
    public void BadSpecFileIsReportedWithItsField()
    {
        string spec = PathFor("bad.json");
        File.WriteAllText(spec, """{"type":"hmm","transitions":[[[0.5,0.6],[1,0]]]}""");
        var (code, _, error) = Run("beliefs", spec, "--depth", "2", "--out", PathFor("bad.csv"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: bad.json: transitions: row 0", error);
        Assert.False(File.Exists(PathFor("bad.csv")));
    }

    [Fact]
    public void MspWritesSummaryJson()
    {
        string json = PathFor("rrxor.json");
        var (code, output, _) = Run("msp", "rrxor", "--depth", "20", "--out", json);
        Assert.Equal(0, code);
        Assert.Contains("36 (finite)", output);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        var root = document.RootElement;
        Assert.Equal(36, root.GetProperty("msp_states").GetInt32());
        Assert.Equal(5, root.GetProperty("recurrent_states").GetInt32());
        Assert.True(root.GetProperty("finite").GetBoolean());
        Assert.Equal(2.0 / 3 * Math.Log(2), root.GetProperty("entropy_rate").GetDouble(), 12);
        Assert.Equal(0.636514, root.GetProperty("myopic_entropies")[2].GetDouble(), 6);
        Assert.Equal(21, root.GetProperty("block_entropies").GetArrayLength());
    }

    [Fact]
    public void MspGraphWritesGraphMlAndCapsAnInfiniteMsp()
    {
        string graphMl = PathFor("even.graphml");
        var (code, output, _) = Run("msp", "even", "--depth", "20", "--graph", graphMl);
        Assert.Equal(0, code);
        Assert.Contains("graph             4 states (2 recurrent, 2 transient); wrote", output);
        var xml = System.Xml.Linq.XDocument.Load(graphMl);
        Assert.Equal(4, xml.Descendants().Count(e => e.Name.LocalName == "node"));
        Assert.Equal(7, xml.Descendants().Count(e => e.Name.LocalName == "edge")); // π: 0,1; (½,½): 0,1; A: 0,1; B: 1

        string dot = PathFor("mess3.dot");
        (code, output, _) = Run("msp", "mess3", "--depth", "8", "--graph", dot, "--graph-max-states", "50");
        Assert.Equal(0, code);
        Assert.Contains("40 states (0 recurrent, 0 transient, 40 unresolved) reached within 3 tokens; cut there", output);
        Assert.Equal(39, File.ReadAllText(dot).Split(" -> ").Length - 1);
    }

    [Theory]
    [InlineData("z1r", 7)]
    [InlineData("rrxor", 36)]
    [InlineData("even", 4)]
    [InlineData("golden_mean", 3)]
    [InlineData("mess3", 0)]
    public void TheReportDrawsTheMspOfFiniteSmallProcessesOnly(string name, int states)
    {
        var graph = Cli.Run.RunReport.DrawableMsp(Core.BuiltinProcesses.Create(name));
        Assert.Equal(states, graph?.Nodes.Count ?? 0);
        Assert.True(graph is null || graph.IsComplete);
    }

    [Fact]
    public void MspOfAnInfiniteMspHasNoComplexity()
    {
        string json = PathFor("mess3.json");
        Assert.Equal(0, Run("msp", "mess3", "--depth", "6", "--out", json).Code);
        using var document = JsonDocument.Parse(File.ReadAllText(json));
        Assert.Equal(JsonValueKind.Null, document.RootElement.GetProperty("statistical_complexity").ValueKind);
        Assert.False(document.RootElement.GetProperty("finite").GetBoolean());
    }

    [Fact]
    public void ProcessesListsEveryBuiltinWithDefaults()
    {
        var (code, output, _) = Run("processes");
        Assert.Equal(0, code);
        foreach (var builtin in Core.BuiltinProcesses.All)
        {
            Assert.Contains(builtin.Name + "(", output);
        }

        Assert.Contains("mess3(x=0.05, alpha=0.85)", output);
        Assert.Contains("mr_name(p=0.4, q=0.25)", output);
    }

    [Fact]
    public void BenchBeliefsPrintsOneJsonLine()
    {
        var (code, output, _) = Run("bench", "beliefs", "--depth", "5", "--runs", "3");
        Assert.Equal(0, code);
        var lines = output.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        using var document = JsonDocument.Parse(lines[0]);
        Assert.Equal(364, document.RootElement.GetProperty("prefixes").GetInt32());
        Assert.True(document.RootElement.GetProperty("median_ms").GetDouble() >= 0);
    }
}

[Collection(ConsoleCollection.Name)]
public sealed class ProcessExportTests
{
    [Fact]
    public void ExportWritesASpecThatLoadsBackToTheSameProcess()
    {
        string path = Path.Combine(Path.GetTempPath(), $"belieflens-export-{Guid.NewGuid():N}.json");
        try
        {
            Assert.Equal(0, Tests.Run.Cli.Run("processes", "--export", "mess3", "--param", "x=0.15", "--out", path).Code);
            var loaded = Core.ProcessResolver.Resolve(path);
            Assert.Equal(Core.BuiltinProcesses.Mess3(0.15).Transitions, loaded.Transitions);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
