using System.Diagnostics;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Runs;
using BeliefLens.Torch;
using Parquet;
using TorchSharp;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>What a Python user gets from a run: train_config.json for TransformerLens, and the README's snippet run for real.</summary>
public sealed class PythonOutputsTests(FinishedTinyRun run) : IClassFixture<FinishedTinyRun>
{
    private const string Python = "/usr/bin/python3";

    /// <summary>HookedTransformerConfig's public dataclass fields that describe an architecture like ours.</summary>
    private static readonly string[] HookedTransformerConfigFields =
    [
        "n_layers", "d_model", "n_ctx", "d_head", "n_heads", "d_mlp", "act_fn", "d_vocab", "d_vocab_out", "normalization_type",
        "attn_only", "eps", "use_attn_scale", "attention_dir", "positional_embedding_type", "model_name",
    ];

    private static string Script => Path.Combine(RepositoryRoot(), "examples", "python", "load_run.py");

    [Fact]
    public void TrainConfigHoldsTheModelInHookedTransformerConfigNames()
    {
        var directory = new RunDirectory(run.Directory);
        var json = JsonNode.Parse(File.ReadAllText(directory.TrainConfigPath))!.AsObject();
        Assert.Equal(HookedTransformerConfigFields.Order(), json.Select(p => p.Key).Order());
        var model = run.Experiment.Model;
        Assert.Equal(model.NLayers, (int)json["n_layers"]!);
        Assert.Equal(model.DModel, (int)json["d_model"]!);
        Assert.Equal(model.NHeads, (int)json["n_heads"]!);
        Assert.Equal(model.DHead, (int)json["d_head"]!);
        Assert.Equal(model.DMlp, (int)json["d_mlp"]!);
        Assert.Equal(model.NCtx, (int)json["n_ctx"]!);
        Assert.Equal(model.DVocab, (int)json["d_vocab_out"]!);
        Assert.Equal("LN", (string)json["normalization_type"]!);
        Assert.Equal("standard", (string)json["positional_embedding_type"]!);
        Assert.Equal(1e-5, (double)json["eps"]!);

        // Our own reader takes it back (probe --config train_config.json), giving the same model.
        Assert.Equal(model, TransformerConfig.FromTrainConfigFile(directory.TrainConfigPath));
        Assert.Equal("train_config.json", Path.GetFileName(directory.TrainConfigPath));
        Assert.Equal(directory.CheckpointsPath, Path.GetDirectoryName(directory.TrainConfigPath));
    }

    [Fact]
    public async Task ParquetTablesHoldTheJsonlRecords()
    {
        var directory = new RunDirectory(run.Directory);
        var probeLines = directory.ReadProbeLines();
        var expected = probeLines.SelectMany(l => l.Sites.Select(s => (l.Step, s.Site, s.MseHeldout, s.R2Heldout))).ToList();
        await using (var reader = await ParquetReader.CreateAsync(directory.ProbesTablePath))
        {
            var fields = reader.Schema.GetDataFields();
            Assert.Equal(["step", "tokens", "site", "dims", "rows", "mse_insample", "mse_heldout", "r2_insample", "r2_heldout"], fields.Take(9).Select(f => f.Name));
            using var group = reader.OpenRowGroupReader(0);
            Assert.Equal(expected.Count, group.RowCount);
            var steps = new long?[expected.Count];
            var sites = new string?[expected.Count];
            var mse = new double?[expected.Count];
            var r2 = new double?[expected.Count];
            await group.ReadAsync(fields[0], steps.AsMemory());
            await group.ReadAsync(fields[2], sites.AsMemory());
            await group.ReadAsync(fields[6], mse.AsMemory());
            await group.ReadAsync(fields[8], r2.AsMemory());
            Assert.Equal(expected.Select(e => (long?)e.Step), steps);
            Assert.Equal(expected.Select(e => e.Site), sites);
            Assert.Equal(expected.Select(e => e.MseHeldout), mse); // bit-exact
            Assert.Equal(expected.Select(e => e.R2Heldout), r2);
        }

        var metrics = directory.ReadMetrics();
        await using (var reader = await ParquetReader.CreateAsync(directory.MetricsTablePath))
        {
            var fields = reader.Schema.GetDataFields();
            using var group = reader.OpenRowGroupReader(0);
            Assert.Equal(metrics.Count, group.RowCount);
            var loss = new double?[metrics.Count];
            var val = new double?[metrics.Count];
            await group.ReadAsync(fields.Single(f => f.Name == "train_loss"), loss.AsMemory());
            await group.ReadAsync(fields.Single(f => f.Name == "val_loss_mean"), val.AsMemory());
            Assert.Equal(metrics.Select(m => (double?)m.TrainLoss), loss);
            Assert.Equal(metrics.Select(m => m.ValLossMean), val);
            Assert.Contains(val, v => v is null); // lines without a validation are nulls, not zeros
        }
    }

    [Fact]
    public void TheReadmeSnippetIsTheScriptThatIsTested()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        int heading = readme.IndexOf("## Using the outputs from Python", StringComparison.Ordinal);
        Assert.True(heading >= 0, "README has no 'Using the outputs from Python' section");
        int start = readme.IndexOf("```python\n", heading, StringComparison.Ordinal) + "```python\n".Length;
        string snippet = readme[start..readme.IndexOf("```", start, StringComparison.Ordinal)];
        string script = File.ReadAllText(Script);
        int at = 0;
        foreach (string line in snippet.Split('\n').Where(l => l.Trim().Length > 0 && !l.TrimStart().StartsWith('#')))
        {
            int found = script.IndexOf(line, at, StringComparison.Ordinal);
            Assert.True(found >= 0, $"README line not in load_run.py (in order): {line}");
            at = found + line.Length;
        }
    }

    [SkippableFact]
    public void PyTorchComputesTheSameLogitsFromOurCheckpoint()
    {
        Skip.If(!File.Exists(Python) || Exec(Python, "-c", "import torch, numpy").Code != 0,
            "Debian's python3-torch and python3-numpy are not installed (apt-get install python3-torch python3-numpy)");
        var directory = new RunDirectory(run.Directory);
        long step = directory.CompleteCheckpointSteps()[^1];
        var model = run.Experiment.Model;

        // Every sequence of n_ctx tokens.
        int n = (int)Math.Pow(model.DVocab, model.NCtx);
        var tokens = new long[n * model.NCtx];
        for (int s = 0; s < n; s++)
        {
            for (int p = 0, rest = s; p < model.NCtx; p++, rest /= model.DVocab)
            {
                tokens[(s * model.NCtx) + p] = rest % model.DVocab;
            }
        }

        double[] ours;
        using (var transformer = Checkpoints.LoadModel(directory.CheckpointPath(step), model))
        using (var scope = torch.NewDisposeScope())
        using (torch.no_grad())
        {
            transformer.eval();
            ours = transformer.forward(torch.tensor(tokens, [n, model.NCtx])).to(torch.float64).data<double>().ToArray();
        }

        string tokensPath = Path.Combine(run.Directory, "..", "tokens.npy");
        string logitsPath = Path.Combine(run.Directory, "..", "logits.npy");
        NpyFile.WriteFloat64(tokensPath, tokens.Select(t => (double)t).ToArray(), n, model.NCtx);
        var (code, output, error) = Exec(Python, Script, run.Directory, tokensPath, logitsPath);
        Assert.True(code == 0, error);

        var printed = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
        Assert.EndsWith($"step_{step:D7}.pt", (string)printed["checkpoint"]!);
        Assert.Equal(directory.ReadSummary().ValidationLoss, (double)printed["validation_loss"]!);
        Assert.Equal(NpyFile.Read(directory.Probe.TrueBeliefsPath).Shape[0], (int)printed["probe_rows"]!);

        var theirs = NpyFile.Read(logitsPath);
        Assert.Equal([n, model.NCtx, model.DVocab], theirs.Shape);
        double worst = ours.Zip(theirs.Data, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(worst <= 1e-5, $"largest logit difference {worst:E3} > 1e-5");
        Assert.True(ours.Select(Math.Abs).Max() > 0.1); // real logits, not zeros
    }

    private static (int Code, string Output, string Error) Exec(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output, error.Result);
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BeliefLens.slnx")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("repository root not found above the test binaries");
    }
}
