using System.Globalization;
using BeliefLens.Core;
using BeliefLens.Runs;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests;

/// <summary>The rnn / lstm / gru models: config, shapes, hooks, PyTorch-named state dicts, training and resume.</summary>
public sealed class RecurrentModelTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-recurrent-{Guid.NewGuid():N}");

    public RecurrentModelTests() => Directory.CreateDirectory(_root);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    /// <summary>2 layers × 8 hidden units, vocabulary 3, n_ctx 5 (the transformer-only fields hold anything; they are ignored).</summary>
    private static TransformerConfig Small(string architecture, int nLayers = 2, int hidden = 8, int nCtx = 5) =>
        new(nLayers, hidden, nHeads: 1, dHead: 8, dMlp: 32, nCtx: nCtx, dVocab: 3, architecture: architecture);

    private static int Gates(string architecture) => architecture switch { "lstm" => 4, "gru" => 3, _ => 1 };

    private static Tensor Tokens(int batch, int positions, ulong seed)
    {
        var rng = new Rng(seed);
        return tensor(Enumerable.Range(0, batch * positions).Select(_ => (long)rng.NextInt(3)).ToArray(), [batch, positions]);
    }

    [Fact]
    public void AnUnknownArchitectureIsAOneLineErrorNamingTheField()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => TransformerConfig.FromJson("{\"architecture\": \"mamba\"}", TransformerConfig.PaperMess3()));
        Assert.Equal("model.architecture: 'mamba' is not supported; use one of transformer, rnn, lstm, gru.", error.Message);
        var notString = Assert.Throws<BeliefLensInputException>(() => TransformerConfig.FromJson("{\"architecture\": 3}", TransformerConfig.PaperMess3()));
        Assert.StartsWith("model.architecture: must be a string", notString.Message, StringComparison.Ordinal);
        Assert.Throws<BeliefLensInputException>(() => TransformerConfig.FromRecord(TransformerConfig.PaperMess3().ToRecord() with { Architecture = "LSTM" }));
    }

    [Fact]
    public void ARecurrentConfigRecordsTheFieldsItIgnoresAndATransformerRecordIsUnchanged()
    {
        var lstm = TransformerConfig.FromJson("{\"architecture\": \"lstm\"}", TransformerConfig.PaperMess3());
        Assert.True(lstm.IsRecurrent);
        Assert.Equal((4, 64, 10, 3), (lstm.NLayers, lstm.DModel, lstm.NCtx, lstm.DVocab)); // the paper's 4 × 64 from the defaults
        var record = lstm.ToRecord();
        Assert.Equal("lstm", record.Architecture);
        Assert.Equal(["n_heads", "d_head", "d_mlp", "act_fn", "normalization_type", "attn_only"], record.IgnoredFields);
        var json = RunJson.ToNode(record).AsObject();
        Assert.Equal("lstm", (string?)json["architecture"]);
        Assert.Equal(6, json["ignored_fields"]!.AsArray().Count);
        Assert.Equal(lstm, TransformerConfig.FromRecord(record));
        Assert.Equal(lstm, TransformerConfig.FromJson(lstm.ToJson().ToJsonString())); // ignored_fields is accepted back

        // A transformer's config.json has neither field, exactly as before architectures existed.
        var transformerJson = RunJson.ToNode(TransformerConfig.PaperMess3().ToRecord()).AsObject();
        Assert.False(transformerJson.ContainsKey("architecture"));
        Assert.False(transformerJson.ContainsKey("ignored_fields"));
        Assert.Equal(TransformerConfig.Transformer, TransformerConfig.FromRecord(TransformerConfig.PaperMess3().ToRecord()).Architecture);

        // Transformer-only arithmetic does not apply: a width that no head count divides is fine for a GRU.
        var gru = TransformerConfig.FromJson("{\"architecture\": \"gru\", \"d_model\": 30, \"n_heads\": 4}", TransformerConfig.PaperMess3());
        Assert.Equal(30, gru.DModel);
        Assert.Throws<BeliefLensInputException>(() => TransformerConfig.FromJson("{\"d_model\": 30, \"n_heads\": 4}", TransformerConfig.PaperMess3()));
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void ShapesHooksAndStateDictKeysFollowPyTorch(string architecture)
    {
        var config = Small(architecture);
        using var model = (RecurrentModel)SequenceModels.Create(config, seed: 1);
        int g = Gates(architecture), h = 8, v = 3;
        Assert.Equal(["hook_input", "layers.0.hook_hidden", "layers.1.hook_hidden"], model.HookNames);
        Assert.Equal(model.HookNames, SequenceModels.ProbeSitesFor(config));
        Assert.Equal("layers.1.hook_hidden", SequenceModels.DefaultSite(config));
        Assert.Equal(3, SequenceModels.SiteWidth(config, "hook_input"));
        Assert.Equal(8, SequenceModels.SiteWidth(config, "layers.0.hook_hidden"));

        var state = model.CheckpointStateDict();
        var expected = new Dictionary<string, long[]>
        {
            ["rnn.weight_ih_l0"] = [g * h, v], ["rnn.weight_hh_l0"] = [g * h, h], ["rnn.bias_ih_l0"] = [g * h], ["rnn.bias_hh_l0"] = [g * h],
            ["rnn.weight_ih_l1"] = [g * h, h], ["rnn.weight_hh_l1"] = [g * h, h], ["rnn.bias_ih_l1"] = [g * h], ["rnn.bias_hh_l1"] = [g * h],
            ["readout.weight"] = [v, h], ["readout.bias"] = [v],
        };
        Assert.Equal(expected.Keys.Order(), state.Keys.Order());
        foreach (var (key, shape) in expected)
        {
            Assert.Equal(shape, state[key].shape);
        }

        Assert.Equal(expected.Values.Sum(s => s.Aggregate(1L, (a, b) => a * b)), model.ParameterCount);
        Assert.Equal(model.ParameterCount, model.parameters().Sum(p => p.numel())); // the module tree sees every weight once

        // PyTorch's default init range ±1/√H, from our own seeded generator.
        float bound = (float)(1 / Math.Sqrt(h));
        Assert.True(model.FlatParameters.abs().max().item<float>() <= bound);
        Assert.True(model.FlatParameters.std().item<float>() > 0.5 * bound / Math.Sqrt(3));

        using var tokens = Tokens(4, 5, 7);
        using var logits = model.forward(tokens);
        Assert.Equal([4L, 5, 3], logits.shape);
        var (again, cache) = model.RunWithCache(tokens);
        using (cache)
        using (again)
        {
            Assert.True(again.allclose(logits, rtol: 0, atol: 1e-6)); // not bitwise: without grad, libtorch may pick another LSTM kernel
            Assert.Equal([4L, 5, 3], cache["hook_input"].shape);
            Assert.True(cache["hook_input"].equal(nn.functional.one_hot(tokens, 3).to(float32)).all().item<bool>());
            Assert.Equal([4L, 5, 8], cache["layers.0.hook_hidden"].shape);
            Assert.Equal([4L, 5, 8], cache["layers.1.hook_hidden"].shape);

            // The readout reads the last layer's hidden sequence.
            var w = state["readout.weight"];
            var b = state["readout.bias"];
            using var manual = matmul(cache["layers.1.hook_hidden"], w.t()) + b;
            Assert.True(manual.allclose(logits, rtol: 0, atol: 1e-6));

            // CacheActivations skips later layers but gives the same values.
            using var partial = model.CacheActivations(tokens, ["layers.0.hook_hidden"]);
            Assert.True(partial["layers.0.hook_hidden"].equal(cache["layers.0.hook_hidden"]).all().item<bool>());
        }

        // A hook that replaces the last hidden sequence feeds the readout: zeros leave only the readout bias.
        using var zeroed = model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>> { ["layers.1.hook_hidden"] = x => zeros_like(x) });
        Assert.True(zeroed.equal(state["readout.bias"].expand(4, 5, 3)).all().item<bool>());
        Assert.Throws<BeliefLensInputException>(() => model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>> { ["blocks.0.hook_resid_post"] = x => x }));
        foreach (var t in state.Values)
        {
            t.Dispose();
        }
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void ParametersAndGradientsLiveInTheFlatBuffers(string architecture)
    {
        using var model = SequenceModels.Create(Small(architecture), seed: 2);
        using var sequences = Tokens(8, 6, 3);
        using (var loss = model.NextTokenLoss(sequences))
        {
            loss.backward();
        }

        Assert.True(model.FlatGradients.abs().sum().item<float>() > 0); // backward accumulated into the flat buffer
        var named = ((nn.Module)model).named_parameters().ToList();
        Assert.All(named, p => Assert.True(p.parameter.grad is not null && p.parameter.grad.abs().sum().item<float>() > 0, p.name));
        model.ZeroGrad();
        Assert.All(named, p => Assert.Equal(0f, p.parameter.grad!.abs().sum().item<float>()));

        // The decay mask covers exactly the weight matrices.
        long decayed = model.DecayMask.sum().item<long>();
        Assert.Equal(named.Where(p => p.name.Contains("weight", StringComparison.Ordinal)).Sum(p => p.parameter.numel()), decayed);

        // Writing the flat buffer is writing the modules' weights: all zero gives zero logits.
        using (no_grad())
        {
            model.FlatParameters.zero_();
        }

        using var tokens = Tokens(2, 5, 4);
        using var logits = model.forward(tokens);
        Assert.Equal(0f, logits.abs().max().item<float>());
    }

    [Theory]
    [InlineData("rnn")]
    [InlineData("lstm")]
    [InlineData("gru")]
    public void ACheckpointRoundTripsAndTheSeedFixesTheWeights(string architecture)
    {
        var config = Small(architecture);
        using var model = SequenceModels.Create(config, seed: 5);
        string path = Path.Combine(_root, $"{architecture}.pt");
        var state = model.CheckpointStateDict();
        Checkpoints.SaveStateDict(path, state);
        using var loaded = Checkpoints.LoadSequenceModel(path, config);
        Assert.IsType<RecurrentModel>(loaded);
        using var tokens = Tokens(3, 5, 9);
        using var a = model.forward(tokens);
        using var b = loaded.forward(tokens);
        Assert.True(a.equal(b).all().item<bool>());

        using var same = SequenceModels.Create(config, seed: 5);
        using var other = SequenceModels.Create(config, seed: 6);
        Assert.True(same.FlatParameters.equal(model.FlatParameters).all().item<bool>());
        Assert.False(other.FlatParameters.equal(model.FlatParameters).all().item<bool>());

        // A checkpoint of another architecture or depth is refused by name; the transformer loader refuses recurrent configs.
        var wrong = Assert.Throws<BeliefLensInputException>(() => Checkpoints.LoadSequenceModel(path, Small(architecture, nLayers: 3)));
        Assert.Contains("rnn.weight_ih_l2", wrong.Message, StringComparison.Ordinal);
        Assert.Throws<BeliefLensInputException>(() => Checkpoints.LoadModel(path, config));
        foreach (var t in state.Values)
        {
            t.Dispose();
        }
    }

    [Fact]
    public void AKilledRecurrentRunResumesToTheSameFinalWeights()
    {
        var options = new TrainingOptions(steps: 60, batchSize: 16, learningRate: 3e-3, warmupSteps: 5, seed: 11, data: "sampled",
            evalEvery: 1000, checkpointEvery: 20, lossReadEvery: 10);
        var run = new TrainingRun(BuiltinProcesses.Mess3(), "mess3", new Dictionary<string, double>(), Small("lstm", nCtx: 4), options);
        RunDirectory Dir(string name) => new(Path.Combine(_root, name));
        void Train(string name, ExistingRun existing = ExistingRun.Refuse, Action<TrainingProgress>? progress = null, CancellationToken cancel = default)
        {
            using var writer = Dir(name).Lock("RecurrentModelTests");
            Trainer.Run(run, writer, existing, progress, cancel);
        }

        Train("whole");
        using var cancel = new CancellationTokenSource();
        Assert.Throws<OperationCanceledException>(() => Train("killed", progress: p =>
        {
            if (p.Step == 50)
            {
                cancel.Cancel(); // dies between checkpoints 40 and 60
            }
        }, cancel: cancel.Token));
        Assert.Equal([20L, 40L], Dir("killed").CompleteCheckpointSteps());
        Train("killed", ExistingRun.Resume);
        Assert.Equal(File.ReadAllBytes(Dir("whole").CheckpointPath(60)), File.ReadAllBytes(Dir("killed").CheckpointPath(60)));
        Assert.Equal(File.ReadAllBytes(Dir("whole").OptimizerStatePath(60)), File.ReadAllBytes(Dir("killed").OptimizerStatePath(60)));
        Assert.Equal(Dir("whole").ReadSummary().ValidationLoss, Dir("killed").ReadSummary().ValidationLoss);

        // config.json and the sidecar say what the model is, and which fields it ignored.
        var recorded = Dir("whole").ReadConfig().Model;
        Assert.Equal("lstm", recorded.Architecture);
        Assert.Contains("n_heads", recorded.IgnoredFields!);
        Assert.Equal(run.Model, TransformerConfig.FromRecord(Dir("whole").ReadSidecar(60).Model));
    }

    [Fact]
    public void ATinyGruLearnsTowardTheFloor()
    {
        var options = new TrainingOptions(steps: 300, batchSize: 64, learningRate: 1e-2, warmupSteps: 20, seed: 3, evalEvery: 300, checkpointEvery: 0);
        var config = Small("gru", nLayers: 1, hidden: 16, nCtx: 4);
        var run = new TrainingRun(BuiltinProcesses.Mess3(), "mess3", new Dictionary<string, double>(), config, options);
        using var writer = new RunDirectory(Path.Combine(_root, "learn")).Lock("RecurrentModelTests");
        var summary = Trainer.Run(run, writer);
        using var validation = ValidationSet.Create(run.Process, config.NCtx, 200_000, 1, 0, CPU);
        using var untrained = SequenceModels.Create(config, seed: 3);
        double before = validation.Evaluate(untrained).Average();
        Assert.True(before > summary.LossFloor + 0.1, $"untrained loss {before} should be near ln 3");
        Assert.True(summary.ValidationLoss < summary.LossFloor * 1.03, $"validation {summary.ValidationLoss} vs floor {summary.LossFloor}");
    }

    /// <summary>
    /// Loads our checkpoint of each architecture into torch.nn.LSTM / GRU / RNN (batch_first, the rnn.* keys with the
    /// prefix stripped) and a torch.nn.Linear readout, and compares the logits. Needs /usr/bin/python3 with torch.
    /// </summary>
    [SkippableFact]
    public void PyTorchLoadsTheCheckpointsAndGivesTheSameLogits()
    {
        const string python = "/usr/bin/python3";
        Skip.IfNot(File.Exists(python) && Run(python, "-c \"import torch\"").Code == 0, "/usr/bin/python3 with torch is not installed (apt-get install python3-torch)");
        string script = Path.Combine(_root, "compare.py");
        File.WriteAllText(script, """
            import sys, torch
            arch, path, tokens_path, logits_path, layers, hidden, vocab = sys.argv[1:8]
            layers, hidden, vocab = int(layers), int(hidden), int(vocab)
            state = torch.load(path)
            cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[arch]
            rnn = cls(vocab, hidden, layers, batch_first=True)
            rnn.load_state_dict({k[len("rnn."):]: v for k, v in state.items() if k.startswith("rnn.")})
            readout = torch.nn.Linear(hidden, vocab)
            readout.load_state_dict({k[len("readout."):]: v for k, v in state.items() if k.startswith("readout.")})
            tokens = torch.tensor([[int(t) for t in line.split()] for line in open(tokens_path)])
            ours = torch.tensor([[float(x) for x in line.split()] for line in open(logits_path)])
            with torch.no_grad():
                out = rnn(torch.nn.functional.one_hot(tokens, vocab).float())[0]
                theirs = readout(out).reshape(-1, vocab)
            print(repr((theirs - ours).abs().max().item()))
            """);
        foreach (string architecture in new[] { "rnn", "lstm", "gru" })
        {
            var config = Small(architecture, nLayers: 3, hidden: 16, nCtx: 8);
            using var model = SequenceModels.Create(config, seed: 17);
            string path = Path.Combine(_root, $"{architecture}.pt");
            var state = model.CheckpointStateDict();
            Checkpoints.SaveStateDict(path, state);
            foreach (var t in state.Values)
            {
                t.Dispose();
            }

            using var tokens = Tokens(6, 8, 21);
            using var logits = model.forward(tokens).reshape(-1, 3);
            string tokensPath = Path.Combine(_root, "tokens.txt"), logitsPath = Path.Combine(_root, "logits.txt");
            File.WriteAllLines(tokensPath, Enumerable.Range(0, 6).Select(i => string.Join(' ', tokens[i].data<long>().ToArray())));
            var values = logits.data<float>().ToArray();
            File.WriteAllLines(logitsPath, Enumerable.Range(0, values.Length / 3)
                .Select(i => string.Join(' ', values.Skip(i * 3).Take(3).Select(x => x.ToString("R", CultureInfo.InvariantCulture)))));
            var (code, output, error) = Run(python, $"{script} {architecture} {path} {tokensPath} {logitsPath} 3 16 3");
            Assert.True(code == 0, $"{architecture}: python failed: {error}");
            double difference = double.Parse(output.Trim(), CultureInfo.InvariantCulture);
            Assert.True(difference <= 1e-5, $"{architecture}: PyTorch's logits differ by {difference}");
            Assert.True(logits.abs().max().item<float>() > 1e-3, "the comparison needs logits that are not all zero");
        }
    }

    private static (int Code, string Out, string Err) Run(string file, string arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }
}
