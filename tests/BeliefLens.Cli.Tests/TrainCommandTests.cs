namespace BeliefLens.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public sealed class TrainCommandTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-cli-train-{Guid.NewGuid():N}");

    public TrainCommandTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private static (int Code, string Error) Run(params string[] args)
    {
        var (code, _, error) = Tests.Run.Cli.Run(args);
        return (code, error);
    }

    private string TinyConfig(string json)
    {
        string path = Path.Combine(_root, $"model-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    [Fact]
    public void TrainsATinyModelAndRefusesToOverwriteTheRun()
    {
        string config = TinyConfig("{\"n_layers\": 1, \"d_model\": 8, \"n_heads\": 1, \"d_mlp\": 16, \"n_ctx\": 3}");
        string outDir = Path.Combine(_root, "run");
        string[] args = ["train", "mess3", "--config", config, "--steps", "20", "--batch", "8", "--out", outDir];
        Assert.Equal(0, Run(args).Code);
        Assert.True(File.Exists(Path.Combine(outDir, "summary.json")));
        Assert.True(File.Exists(Path.Combine(outDir, "config.json")));
        Assert.True(File.Exists(Path.Combine(outDir, "checkpoints", "step_0000020.pt")));

        var (code, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains("already holds a run", error);
        Assert.Equal(0, Run([.. args, "--force"]).Code);
    }

    [Theory]
    [InlineData("{\"n_layers\": 1, \"dmodel\": 8}", "unknown field 'dmodel'")]
    [InlineData("{\"d_model\": 10, \"n_heads\": 4}", "not divisible")]
    [InlineData("{\"d_vocab\": 5}", "d_vocab")]
    public void BadModelConfigsFailWithOneLine(string json, string expected)
    {
        var (code, error) = Run("train", "--config", TinyConfig(json), "--out", Path.Combine(_root, "bad"));
        Assert.Equal(2, code);
        Assert.Contains(expected, error);
        Assert.Single(error.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(_root, "bad")));
    }

    [Fact]
    public void BadOptionsFailWithOneLine()
    {
        Assert.Contains("--device", Run("train", "--device", "tpu", "--steps", "1", "--out", Path.Combine(_root, "d")).Error);
        Assert.Contains("--out", Run("train", "--steps", "1").Error);
        Assert.Contains("unknown benchmark", Run("bench", "nothing").Error);
    }
}
