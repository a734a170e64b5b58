using System.Text.Json;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;

namespace BeliefLens.Cli.Tests;

/// <summary>`belieflens universality` over quantum probe results written through the run directory's writer (no TorchSharp).</summary>
[Collection(ConsoleCollection.Name)]
public sealed class UniversalityCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("belieflens-universality-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static (int Code, string Out, string Error) Run(params string[] args) => Tests.Run.Cli.Run(args);

    // A quantum probe result for a process, with its real anchors and a prediction = truth + a fixed perturbation.
    private string WriteProbe(string name, string process, string architecture, double scale)
    {
        string path = Path.Combine(_directory, name);
        var anchors = AnchorSet.Create(BuiltinProcesses.Create(process), 4);
        var predicted = new DenseMatrix(anchors.Beliefs.Data.Select((v, i) => v + (scale * ((i % 7) - 3) * 1e-3)).ToArray(), anchors.Count, anchors.Beliefs.Cols);
        QuantumSiteResult Site(string site, double rmse) =>
            new(site, 8, rmse, rmse * 1.1, 1e-6, 9, 0.2, rmse / 0.2, 3 * rmse, 3.3 * rmse, 0.25, 3 * rmse / 0.25, 0.99, 0.5);
        var result = new QuantumProbeResult(process, architecture, 100, 4, anchors.Count, 10, 53, 3, 27, 0, [1000, 1001],
            [Site("hook_input", 0.1 * scale), Site("layers.0.hook_hidden", 0.05 * scale), Site("concat", 0.02 * scale)]);
        using var writer = new RunDirectory(path).Lock("test");
        writer.WriteQuantumProbe(result, new Dictionary<string, DenseMatrix> { ["concat"] = predicted }, anchors.Beliefs, anchors.Weights);
        return path;
    }

    [Fact]
    public void WritesOneRowPerRunAndSiteAndASelfContainedReport()
    {
        string a = WriteProbe("mess3-gru", "mess3", "gru", 1);
        string b = WriteProbe("bloch-lstm", "tom_quantum", "lstm", 2);
        string output = Path.Combine(_directory, "cmp");
        var (code, _, error) = Run("universality", a, b, "--out", output);
        Assert.True(code == 0, error);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "universality.json")));
        var rows = json.RootElement.EnumerateArray().ToList();
        Assert.Equal(6, rows.Count);
        var row = rows.Single(r => r.GetProperty("run").GetString() == "bloch-lstm" && r.GetProperty("site").GetString() == "concat");
        Assert.Equal(
            ["run", "process", "architecture", "site", "rmse", "rmse_heldout", "random_init_rmse", "normalized_rmse", "markov_rmse", "markov_normalized_rmse", "cosine_r2", "cosine_r2_markov"],
            row.EnumerateObject().Select(p => p.Name));
        Assert.Equal("tom_quantum", row.GetProperty("process").GetString());
        Assert.Equal("lstm", row.GetProperty("architecture").GetString());
        Assert.Equal(0.04, row.GetProperty("rmse").GetDouble(), 15);
        Assert.Equal(0.2, row.GetProperty("normalized_rmse").GetDouble(), 15);

        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Contains("data:image/png;base64,", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.True(File.Exists(Path.Combine(output, "figures", "geometries.png")));
    }

    [Fact]
    public void ADirectoryWithoutAQuantumProbeIsAOneLineErrorSayingHowToGetOne()
    {
        string empty = Directory.CreateDirectory(Path.Combine(_directory, "nothing")).FullName;
        var (code, _, error) = Run("universality", empty, "--out", Path.Combine(_directory, "cmp"));
        Assert.Equal(2, code);
        Assert.Contains("--protocol quantum", error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}
