using System.Text.Json.Nodes;

namespace BeliefLens.Cli.Tests;

/// <summary><c>belieflens attention</c> end to end on a tiny trained model, and its one-line errors.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class AttentionCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-cli-attention-{Guid.NewGuid():N}");

    public AttentionCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Code, string Output, string Error) Run(params string[] args) => Tests.Run.Cli.Run(args);

    [Fact]
    public void WritesTheIssuesShapeWithFiguresAndReport()
    {
        string config = Path.Combine(_root, "model.json");
        File.WriteAllText(config, "{\"n_layers\": 2, \"d_model\": 16, \"n_heads\": 2, \"d_head\": 4, \"d_mlp\": 16, \"n_ctx\": 4}");
        string run = Path.Combine(_root, "run");
        Assert.Equal(0, Run("train", "mess3", "--config", config, "--steps", "10", "--batch", "8", "--out", run).Code);

        string outDir = Path.Combine(_root, "attention");
        var (code, output, error) = Run("attention", run, "--out", outDir);
        Assert.True(code == 0, error);
        Assert.Contains("predicted heads 1", output, StringComparison.Ordinal);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "attention.json")))!.AsObject();
        Assert.Equal(["process", "eigenvalues", "predicted_heads", "heads", "constrained_rmse", "exact_rmse"], json.Select(kv => kv.Key).Take(6));
        Assert.Equal(3, json["eigenvalues"]!.AsArray().Count);
        Assert.Equal(0.85, json["eigenvalues"]![1]![0]!.GetValue<double>(), 12); // 1 − 3·0.05
        var heads = json["heads"]!.AsArray();
        Assert.Equal(4, heads.Count); // 2 layers × 2 heads
        Assert.Equal(["layer", "head", "lambda_fit", "fit_r2", "ov_cosine"], heads[0]!.AsObject().Select(kv => kv.Key).Take(5));
        Assert.Equal(3, heads[0]!["ov_cosine"]!.AsArray().Count);
        foreach (string site in new[] { "blocks.0.hook_attn_out", "blocks.0.hook_resid_post", "blocks.1.hook_attn_out", "blocks.1.hook_resid_post" })
        {
            Assert.True(json["constrained_rmse"]![site]!.GetValue<double>() > 0);
            Assert.True(json["exact_rmse"]![site]!.GetValue<double>() > 0);
        }

        foreach (string figure in new[] { "attention-by-distance", "attention-ov-vectors", "attention-geometries", "attention-spectrum" })
        {
            Assert.True(File.Exists(Path.Combine(outDir, "figures", figure + ".png")), figure);
        }

        // The record reads back strictly (every field known, typed and present).
        var record = new BeliefLens.Runs.RunDirectory(outDir).ReadAttention();
        Assert.Equal(1, record.PredictedHeads);
        Assert.Equal(4, record.Heads.Count);
        Assert.Equal(json["exact_rmse"]!["blocks.1.hook_resid_post"]!.GetValue<double>(), record.ExactRmse["blocks.1.hook_resid_post"]);

        string html = File.ReadAllText(Path.Combine(outDir, "attention.html"));
        Assert.Contains("How attention builds beliefs", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("RUN_DIR: give a run directory", "--out", "OUT")]
    [InlineData("is not a directory", "NOPE", "--out", "OUT")]
    [InlineData("--checkpoint: 'NOPE.pt' does not exist", "--checkpoint", "NOPE.pt", "mess3", "--out", "OUT")]
    [InlineData("--out: is required", "NOPE")]
    public void BadInputGetsOneLineAndExitCode2(string expected, params string[] args)
    {
        var resolved = args.Select(a => a is "OUT" or "NOPE" or "NOPE.pt" ? Path.Combine(_root, a) : a).ToArray();
        var (code, _, error) = Run(["attention", .. resolved]);
        Assert.Equal(2, code);
        Assert.Contains(expected.Replace("NOPE.pt", Path.Combine(_root, "NOPE.pt"), StringComparison.Ordinal), error, StringComparison.Ordinal);
        Assert.Single(error.Trim().Split('\n'));
    }
}
