using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Xml.Linq;
using BeliefLens.Core;

namespace BeliefLens.Reporting.Tests;

/// <summary>The MSP graph as GraphML (parsed as XML) and DOT (parsed back by Graphviz itself, when installed).</summary>
public sealed class MspGraphFilesTests : IDisposable
{
    private static readonly XNamespace G = "http://graphml.graphdrawing.org/xmlns";
    private readonly string _directory = Directory.CreateTempSubdirectory("belieflens-msp-graph-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static MspGraph Z1r() => MspGraph.From(MixedStatePresentation.Build(BuiltinProcesses.Z1r(), 30));

    [Fact]
    public void GraphMlParsesWithTheMspsNodesEdgesAndData()
    {
        var graph = Z1r();
        string path = Path.Combine(_directory, "z1r.graphml");
        var (written, note) = MspGraphFiles.Write(graph, path);
        Assert.Null(note);
        Assert.Equal([path], written);

        var root = XDocument.Load(path).Root!;
        var nodes = root.Descendants(G + "node").ToList();
        var edges = root.Descendants(G + "edge").ToList();
        Assert.Equal(7, nodes.Count);
        Assert.Equal(12, edges.Count);
        string Data(XElement e, string key) => e.Elements(G + "data").Single(d => (string)d.Attribute("key")! == key).Value;
        Assert.Equal(3, nodes.Count(n => Data(n, "kind") == "recurrent"));
        Assert.Equal(4, nodes.Count(n => Data(n, "kind") == "transient"));
        Assert.Equal(1.0, nodes.Sum(n => double.Parse(Data(n, "stationary"), CultureInfo.InvariantCulture)), 12);

        // Every belief round-trips exactly, and each node's outgoing probabilities sum to 1.
        foreach (var node in graph.Nodes)
        {
            var element = nodes.Single(n => (string)n.Attribute("id")! == $"s{node.Id}");
            Assert.Equal(node.Belief, Data(element, "belief").Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)));
            double total = edges.Where(e => (string)e.Attribute("source")! == $"s{node.Id}")
                .Sum(e => double.Parse(Data(e, "probability"), CultureInfo.InvariantCulture));
            Assert.Equal(1.0, total, 12);
        }

        Assert.All(edges, e => Assert.Contains(Data(e, "token"), new[] { "0", "1" }));
        Assert.All(root.Elements(G + "key"), k => Assert.NotNull(k.Attribute("attr.type")));
    }

    [SkippableFact]
    public void DotParsesBackThroughGraphvizAndRendersSvgAndPng()
    {
        Skip.If(!OnPath("dot"), "Graphviz 'dot' is not installed (apt-get install graphviz)");
        var graph = MspGraph.From(MixedStatePresentation.Build(BuiltinProcesses.Rrxor(), 30));
        string svg = Path.Combine(_directory, "rrxor.svg");
        var (written, note) = MspGraphFiles.Write(graph, svg);
        Assert.Null(note);
        string dotPath = Path.ChangeExtension(svg, ".dot");
        Assert.Equal([dotPath, svg], written);
        Assert.Equal(36, XDocument.Load(svg).Descendants(XName.Get("g", "http://www.w3.org/2000/svg")).Count(g => (string?)g.Attribute("class") == "node"));

        // Graphviz reads our DOT back: the same nodes, edges and kinds.
        using var json = JsonDocument.Parse(RunDot("-Tjson", dotPath));
        var objects = json.RootElement.GetProperty("objects").EnumerateArray().ToList();
        Assert.Equal(36, objects.Count);
        Assert.Equal(graph.Edges.Count, json.RootElement.GetProperty("edges").GetArrayLength());
        Assert.Equal(5, objects.Count(o => o.GetProperty("kind").GetString() == "recurrent"));

        string png = Path.Combine(_directory, "rrxor.png");
        MspGraphFiles.Write(graph, png);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, File.ReadAllBytes(png)[..4]);
    }

    [SkippableFact]
    public void TheRunReportDrawsAGivenMspAfterTheProcess()
    {
        Skip.If(!OnPath("dot"), "Graphviz 'dot' is not installed (apt-get install graphviz)");
        var input = new SyntheticRun(depth: 4).Input() with { MspGraph = Z1r() };
        var rendered = RunReportPage.Render(input, _directory);
        Assert.True(File.Exists(Path.Combine(_directory, "msp.dot")));
        Assert.True(File.Exists(Path.Combine(_directory, "msp.svg")));
        int process = rendered.Html.IndexOf("<h2>The process</h2>", StringComparison.Ordinal);
        int msp = rendered.Html.IndexOf("<h2>The mixed-state presentation</h2>", StringComparison.Ordinal);
        int headline = rendered.Html.IndexOf("<h2>Belief geometry in the residual stream</h2>", StringComparison.Ordinal);
        Assert.True(process >= 0 && process < msp && msp < headline);
        Assert.Contains("7 states (3 recurrent, 4 transient)", rendered.Html, StringComparison.Ordinal);
        Assert.Contains("data:image/svg+xml;base64,", rendered.Html[msp..headline], StringComparison.Ordinal);

        // Without a graph (an infinite MSP such as Mess3's) the section is absent.
        var plain = RunReportPage.Render(new SyntheticRun(depth: 4).Input(), Path.Combine(_directory, "plain"));
        Assert.DoesNotContain("The mixed-state presentation", plain.Html, StringComparison.Ordinal);
    }

    [Fact]
    public void DotEscapesQuotesAndMarksEachKind()
    {
        string dot = MspGraphFiles.ToDot(Z1r());
        Assert.StartsWith("digraph msp {", dot, StringComparison.Ordinal);
        Assert.Equal(3, dot.Split("kind=\"recurrent\"").Length - 1);
        Assert.Equal(4, dot.Split("kind=\"transient\"").Length - 1);
        Assert.Equal(12, dot.Split(" -> ").Length - 1);
        Assert.Contains("s0 [label=\"(0.333, 0.333, 0.333)\\nstart\"", dot, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownExtensionIsRefusedByName()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => MspGraphFiles.Write(Z1r(), Path.Combine(_directory, "g.jpg")));
        Assert.StartsWith("--graph:", error.Message, StringComparison.Ordinal);
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, program)));

    private static string RunDot(params string[] args)
    {
        var start = new ProcessStartInfo("dot") { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
        return output;
    }
}
