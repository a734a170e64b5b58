using BeliefLens.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests;

/// <summary>The TorchSharp module tree: every parameter reachable once, under TransformerLens's names.</summary>
public sealed class ModuleTreeTests
{
    private static Tensor RandomTokens(int batch, int length, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        return tensor(Enumerable.Range(0, batch * length).Select(_ => (long)rng.NextInt(vocab)).ToArray(), [batch, length]);
    }

    [Fact]
    public void ParametersCoverThePaperModelsCountExactlyOnceUnderTransformerLensNames()
    {
        using var model = new HookedTransformer(TransformerConfig.PaperMess3(), seed: 1);

        // 3·64 + 10·64 + 4 · (2·64 + 64·24 + 24 + 8·64 + 64 + 2·64 + 64·256 + 256 + 256·64 + 64) + 2·64 + 64·3 + 3
        Assert.Equal(143_075, model.ParameterCount);
        var parameters = model.parameters().ToList();
        Assert.Equal(143_075, parameters.Sum(p => p.numel()));
        Assert.Equal(4 * 16 + 6, parameters.Count);

        var names = model.named_parameters().Select(p => p.name).Order(StringComparer.Ordinal).ToList();
        var transformerLensKeys = model.StateDictTransformerLens(includeBuffers: false).Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(transformerLensKeys, names);
        Assert.Contains("blocks.3.attn.W_Q", names);
        Assert.Equal([1, 64, 8], model.named_parameters().Single(p => p.name == "blocks.2.attn.W_K").parameter.shape);

        // Every parameter is a view into the flat buffer: overwriting the buffer overwrites each of them.
        using (no_grad())
        {
            model.FlatParameters.fill_(0.25f);
        }

        Assert.All(parameters, p => Assert.True(p.eq(0.25f).all().item<bool>()));
    }

    [Fact]
    public void NamedModulesListTheTransformerLensTree()
    {
        using var model = new HookedTransformer(TransformerConfig.PaperMess3());
        var modules = model.named_modules().Select(m => m.name).ToHashSet(StringComparer.Ordinal);
        foreach (string name in new[] { "embed", "pos_embed", "blocks", "ln_final", "unembed" })
        {
            Assert.Contains(name, modules);
        }

        for (int l = 0; l < 4; l++)
        {
            foreach (string part in new[] { string.Empty, ".ln1", ".attn", ".ln2", ".mlp" })
            {
                Assert.Contains($"blocks.{l}{part}", modules);
            }
        }

        Assert.DoesNotContain("blocks.4", modules);
        Assert.Equal(5 + (4 * 5), modules.Count);
    }

    [Fact]
    public void AnOptimizerBuiltOnParametersChangesEveryWeight()
    {
        using var model = new HookedTransformer(new TransformerConfig(2, 16, 2, 8, 32, 6, 3), seed: 2);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var flatBefore = model.FlatParameters.clone();
        using var optimizer = optim.AdamW(model.parameters(), lr: 1e-3, weight_decay: 0);
        using var tokens = RandomTokens(8, 7, 3, 5);
        model.ZeroGrad();
        using (var loss = model.NextTokenLoss(tokens))
        {
            loss.backward();
        }

        optimizer.step();
        Assert.Equal(2 * 16, model.named_parameters().Count(p => p.name.StartsWith("blocks.", StringComparison.Ordinal)));
        foreach (var (name, parameter) in model.named_parameters())
        {
            // The key bias gets no gradient: adding a constant to every score of a query leaves its softmax unchanged.
            if (!name.EndsWith("attn.b_K", StringComparison.Ordinal))
            {
                Assert.False(parameter.eq(before[name]).all().item<bool>(), $"{name} did not change");
            }
        }

        // The optimizer wrote through the views into the flat buffer the model's own optimizer uses.
        long changed = model.FlatParameters.ne(flatBefore).sum().item<long>();
        long changedInParameters = model.named_parameters().Sum(p => p.parameter.ne(before[p.name]).sum().item<long>());
        Assert.Equal(changedInParameters, changed);
        Assert.True(changed > model.ParameterCount / 2);
    }

    [Fact]
    public void StateDictAndToCoverEveryWeight()
    {
        var config = new TransformerConfig(2, 16, 2, 8, 32, 6, 3);
        using var model = new HookedTransformer(config, seed: 3);
        using var tokens = RandomTokens(4, 6, 3, 6);
        using var expected = model.forward(tokens);

        var state = model.state_dict();
        Assert.Equal(model.ParameterCount, state.Where(kv => !kv.Key.EndsWith(".attn.mask", StringComparison.Ordinal) && !kv.Key.EndsWith(".attn.IGNORE", StringComparison.Ordinal)).Sum(kv => kv.Value.numel()));
        Assert.Equal(model.StateDictTransformerLens().Keys.Order(StringComparer.Ordinal), state.Keys.Order(StringComparer.Ordinal));

        Assert.Same(model, model.to(CPU)); // already there: nothing moves
        model.to(ScalarType.Float64);
        Assert.Equal(ScalarType.Float64, model.FlatParameters.dtype);
        Assert.All(model.parameters(), p => Assert.Equal(ScalarType.Float64, p.dtype));
        Assert.Equal(model.ParameterCount, model.parameters().Sum(p => p.numel()));
        Assert.Equal(ScalarType.Bool, model.state_dict()["blocks.1.attn.mask"].dtype);

        // The moved parameters still view the (moved) flat buffers: the output is unchanged, gradients land in FlatGradients.
        using var moved = model.forward(tokens);
        Assert.True(moved.to(ScalarType.Float32).allclose(expected, rtol: 1e-4, atol: 1e-5));
        model.ZeroGrad();
        using (var loss = model.NextTokenLoss(RandomTokens(4, 7, 3, 7)))
        {
            loss.backward();
        }

        Assert.Equal(ScalarType.Float64, model.FlatGradients.dtype);
        Assert.True(model.FlatGradients.abs().sum().item<double>() > 0);
        foreach (var (name, parameter) in model.named_parameters())
        {
            Assert.True(parameter.grad is not null, name);
        }

        using (no_grad())
        {
            model.FlatParameters.zero_();
        }

        Assert.All(model.parameters(), p => Assert.True(p.eq(0).all().item<bool>()));
    }
}
