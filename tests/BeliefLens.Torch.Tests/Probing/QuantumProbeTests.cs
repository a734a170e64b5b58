using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Runs;
using BeliefLens.Torch.Probing;

namespace BeliefLens.Torch.Tests.Probing;

/// <summary>The quantum paper's protocol on small networks of every architecture (FRDN at n_ctx 8: 510 anchors).</summary>
public sealed class QuantumProbeTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-quantum-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static TransformerConfig Small(string architecture) =>
        new(2, 8, nHeads: 1, dHead: 8, dMlp: 16, nCtx: 8, dVocab: 2, architecture: architecture);

    [Theory]
    [InlineData("transformer")]
    [InlineData("gru")]
    public void EverySiteIsProbedAgainstBothTargetsAndNormalisedByTheRandomNetworks(string architecture)
    {
        var config = Small(architecture);
        var process = BuiltinProcesses.Create("fanizza");
        using var model = SequenceModels.Create(config, seed: 7);
        var options = new QuantumProbeOptions(randomInitSeeds: [1, 2]);
        var report = QuantumProbe.Run(model, process, options, seed => SequenceModels.Create(config, seed: (ulong)seed), step: 5);
        var result = report.Result;

        Assert.Equal(510, result.Anchors);
        Assert.Equal(8, result.MarkovStates);
        Assert.Equal(53, result.Cutoffs);
        Assert.Equal(architecture, result.Architecture);
        var expected = architecture == "gru"
            ? new[] { "hook_input", "layers.0.hook_hidden", "layers.1.hook_hidden", "concat" }
            : ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", "blocks.1.hook_resid_post", "ln_final.hook_normalized", "concat"];
        Assert.Equal(expected, result.Sites.Select(s => s.Site));
        Assert.Equal(16, result.Sites[^1].Dims);
        foreach (var site in result.Sites)
        {
            Assert.Equal(site.Rmse!.Value / site.RandomInitRmse!.Value, site.NormalizedRmse!.Value, 12);
            Assert.Equal(site.MarkovRmse!.Value / site.MarkovRandomInitRmse!.Value, site.MarkovNormalizedRmse!.Value, 12);
            Assert.InRange(site.CosineR2!.Value, -10, 1);
            Assert.Equal(510, report.Predicted[site.Site].Rows);
        }

        // The concatenation holds every layer's features, so its in-sample fit is at least as good as any layer's.
        double concat = result.Sites[^1].Rmse!.Value;
        Assert.All(result.Sites.Where(s => s.Site.Contains("layers.", StringComparison.Ordinal) || s.Site.EndsWith("resid_post", StringComparison.Ordinal)),
            s => Assert.True(concat <= s.Rmse!.Value + 1e-12, $"{s.Site}: {s.Rmse} < concat {concat}"));
    }

    [Fact]
    public void TheResultRoundTripsThroughTheRunDirectoryAndIsReproducible()
    {
        var config = Small("rnn");
        var process = BuiltinProcesses.Create("fanizza");
        using var model = SequenceModels.Create(config, seed: 3);
        var options = new QuantumProbeOptions(randomInitSeeds: [11]);
        var first = QuantumProbe.Run(model, process, options, seed => SequenceModels.Create(config, seed: (ulong)seed), step: 0);
        var second = QuantumProbe.Run(model, process, options, seed => SequenceModels.Create(config, seed: (ulong)seed), step: 0);
        Assert.Equal(RunJson.Serialize(first.Result, indented: true), RunJson.Serialize(second.Result, indented: true));

        var dir = new RunDirectory(_root);
        using (var writer = dir.Lock("test"))
        {
            writer.WriteQuantumProbe(first.Result, first.Predicted, first.Anchors.Beliefs, first.Anchors.Weights);
        }

        Assert.True(dir.HasQuantumProbe);
        Assert.Equal(RunJson.Serialize(first.Result, indented: true), RunJson.Serialize(dir.ReadQuantumProbe(), indented: true));
        Assert.Equal(first.Predicted["concat"].Data, NpyFile.Read(dir.QuantumPredictedPath("concat")).Data);
    }
}
