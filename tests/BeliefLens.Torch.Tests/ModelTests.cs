using BeliefLens.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests;

public sealed class ModelTests
{
    private static readonly TransformerConfig Tiny = new(nLayers: 2, dModel: 16, nHeads: 2, dHead: 6, dMlp: 32, nCtx: 6, dVocab: 3);

    private static Tensor RandomTokens(int batch, int length, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        return tensor(Enumerable.Range(0, batch * length).Select(_ => (long)rng.NextInt(vocab)).ToArray(), [batch, length]);
    }

    [Fact]
    public void StateDictHasTransformerLensNamesAndShapes()
    {
        using var model = new HookedTransformer(Tiny, seed: 1);
        var state = model.StateDictTransformerLens();
        Assert.Equal([3, 16], state["embed.W_E"].shape);
        Assert.Equal([6, 16], state["pos_embed.W_pos"].shape);
        Assert.Equal([2, 16, 6], state["blocks.1.attn.W_Q"].shape);
        Assert.Equal([2, 16, 6], state["blocks.1.attn.W_V"].shape);
        Assert.Equal([2, 6, 16], state["blocks.0.attn.W_O"].shape);
        Assert.Equal([2, 6], state["blocks.0.attn.b_K"].shape);
        Assert.Equal([16], state["blocks.0.attn.b_O"].shape);
        Assert.Equal([16, 32], state["blocks.0.mlp.W_in"].shape);
        Assert.Equal([32, 16], state["blocks.0.mlp.W_out"].shape);
        Assert.Equal([16], state["blocks.0.ln2.w"].shape);
        Assert.Equal([16], state["ln_final.b"].shape);
        Assert.Equal([16, 3], state["unembed.W_U"].shape);
        Assert.Equal([3], state["unembed.b_U"].shape);
        Assert.Equal((2 * 18) + 6, state.Count);
    }

    [Fact]
    public void StateDictRoundTripThroughAPyTorchFileGivesTheSameLogits()
    {
        using var source = new HookedTransformer(Tiny, seed: 1);
        using var target = new HookedTransformer(Tiny, seed: 2);
        using var tokens = RandomTokens(5, 6, 3, 7);
        string path = Path.Combine(Path.GetTempPath(), $"belieflens-{Guid.NewGuid():N}.pt");
        try
        {
            Checkpoints.SaveStateDict(path, source.StateDictTransformerLens());
            using var before = target.forward(tokens);
            using var expected = source.forward(tokens);
            Assert.False(before.allclose(expected));
            target.LoadStateDict(Checkpoints.LoadStateDict(path));
            using var after = target.forward(tokens);
            Assert.True(after.eq(expected).all().item<bool>());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ExplicitAndFusedAttentionAgree()
    {
        using var model = new HookedTransformer(Tiny, seed: 3);
        using var tokens = RandomTokens(4, 6, 3, 8);
        model.UseFusedAttention = true;
        using var fused = model.forward(tokens);
        model.UseFusedAttention = false;
        using var explicitPath = model.forward(tokens);
        Assert.True(fused.allclose(explicitPath, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void ChangingALaterTokenDoesNotChangeEarlierLogits()
    {
        using var model = new HookedTransformer(Tiny, seed: 4);
        using var tokens = RandomTokens(1, 6, 3, 9);
        using var changed = tokens.clone();
        changed[0, 4] = tensor((tokens[0, 4].item<long>() + 1) % 3);
        foreach (bool fused in new[] { true, false })
        {
            model.UseFusedAttention = fused;
            using var a = model.forward(tokens);
            using var b = model.forward(changed);
            Assert.True(a.narrow(1, 0, 4).eq(b.narrow(1, 0, 4)).all().item<bool>());
            Assert.False(a.narrow(1, 4, 2).allclose(b.narrow(1, 4, 2)));
        }
    }

    [Fact]
    public void RunWithCacheReturnsEveryHookAndLeavesNoHookRegistered()
    {
        using var model = new HookedTransformer(Tiny, seed: 5);
        using var tokens = RandomTokens(3, 5, 3, 10);
        var (logits, cache) = model.RunWithCache(tokens);
        using (cache)
        {
            AssertNoHookLeft(model, tokens);
            Assert.Equal(model.HookNames.OrderBy(n => n), cache.Names.OrderBy(n => n));
            Assert.Contains("blocks.1.hook_resid_post", model.HookNames);
            Assert.Contains("ln_final.hook_normalized", model.HookNames);
            Assert.Equal([3, 5, 16], cache["blocks.0.hook_resid_pre"].shape);
            Assert.Equal([3, 2, 5, 5], cache["blocks.1.attn.hook_pattern"].shape);
            using var plain = model.forward(tokens);
            Assert.True(logits.allclose(plain, rtol: 1e-4, atol: 1e-5));

            // resid_post = resid_mid + mlp_out and resid_mid = resid_pre + attn_out, as in TransformerLens.
            using var mid = cache["blocks.1.hook_resid_pre"] + cache["blocks.1.hook_attn_out"];
            Assert.True(mid.allclose(cache["blocks.1.hook_resid_mid"], atol: 1e-5));
            using var post = cache["blocks.1.hook_resid_mid"] + cache["blocks.1.hook_mlp_out"];
            Assert.True(post.allclose(cache["blocks.1.hook_resid_post"], atol: 1e-5));

            // Patterns are causal and normalized.
            var pattern = cache["blocks.0.attn.hook_pattern"];
            Assert.Equal(0f, pattern[0, 0, 1, 3].item<float>());
            Assert.True(pattern.sum(-1).allclose(ones(3, 2, 5), atol: 1e-5));
        }

        logits.Dispose();
    }

    [Fact]
    public void CacheActivationsMatchesRunWithCacheAndStopsAfterTheLastNeededBlock()
    {
        using var model = new HookedTransformer(Tiny, seed: 8);
        using var tokens = RandomTokens(4, 6, 3, 11);
        using var before = model.forward(tokens);
        string[] names = ["hook_embed", "blocks.0.hook_resid_pre", "blocks.0.hook_attn_out", "blocks.0.hook_resid_post"];
        var (logits, full) = model.RunWithCache(tokens, names);
        using (logits)
        using (full)
        using (var partial = model.CacheActivations(tokens, names))
        {
            Assert.Equal(names.Order(), partial.Names.Order());
            foreach (string name in names)
            {
                Assert.True(full[name].eq(partial[name]).all().item<bool>(), name); // bitwise: the skipped blocks come later
            }
        }

        Assert.Equal(0, model.BlocksNeededFor("hook_pos_embed"));
        Assert.Equal(1, model.BlocksNeededFor("blocks.0.hook_resid_pre"));
        Assert.Equal(1, model.BlocksNeededFor("blocks.0.hook_resid_post"));
        Assert.Equal(2, model.BlocksNeededFor("blocks.1.attn.hook_pattern"));
        Assert.Equal(2, model.BlocksNeededFor("ln_final.hook_normalized"));

        // The limit is lifted afterwards: a full pass gives the same logits as before.
        using var after = model.forward(tokens);
        Assert.True(after.eq(before).all().item<bool>());
        using var onlyFinal = model.CacheActivations(tokens, ["ln_final.hook_normalized"]);
        Assert.Equal([4, 6, 16], onlyFinal["ln_final.hook_normalized"].shape);
    }

    [Fact]
    public void HooksAreRemovedEvenWhenAHookThrowsAndUnknownNamesAreRejected()
    {
        using var model = new HookedTransformer(Tiny, seed: 6);
        using var tokens = RandomTokens(2, 4, 3, 11);
        Assert.Throws<InvalidOperationException>(() => model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>>
        {
            ["blocks.0.hook_resid_mid"] = _ => throw new InvalidOperationException("boom"),
        }));
        AssertNoHookLeft(model, tokens);
        var error = Assert.Throws<BeliefLensInputException>(() => model.RunWithCache(tokens, ["blocks.9.hook_resid_post"]));
        Assert.Contains("blocks.9.hook_resid_post", error.Message);
        AssertNoHookLeft(model, tokens);
    }

    /// <summary>
    /// A hook left registered would fire again on a plain forward pass (the throwing one would throw) and would make
    /// the next hooked run fail as nested; so a hooked run that sees only its own hook, once, and a quiet forward pass
    /// after it, show that nothing was left behind.
    /// </summary>
    private static void AssertNoHookLeft(HookedTransformer model, Tensor tokens)
    {
        int calls = 0;
        using var hooked = model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>>
        {
            ["blocks.0.hook_resid_mid"] = t =>
            {
                calls++;
                return t;
            },
        });
        Assert.Equal(1, calls);
        using var plain = model.forward(tokens);
        Assert.Equal(1, calls);
        Assert.True(hooked.allclose(plain, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void AHookCanReplaceAnActivation()
    {
        using var model = new HookedTransformer(Tiny, seed: 7);
        using var tokens = RandomTokens(2, 4, 3, 12);
        using var zeroed = model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>>
        {
            ["ln_final.hook_normalized"] = x => zeros_like(x),
        });

        // With a zero normalized stream, logits are ln_final.b · W_U + b_U at every position.
        var state = model.StateDictTransformerLens();
        using var expected = state["ln_final.b"].unsqueeze(0).matmul(state["unembed.W_U"]) + state["unembed.b_U"];
        Assert.True(zeroed[1, 3].allclose(expected.squeeze(0), atol: 1e-5));
    }

    [Fact]
    public void AttentionOnlyAndNoNormalizationModelsHaveTheMatchingHooksAndKeys()
    {
        var config = new TransformerConfig(1, 8, 2, 4, 0, 4, 2, layerNorm: false, attnOnly: true);
        using var model = new HookedTransformer(config);
        Assert.DoesNotContain("blocks.0.hook_mlp_out", model.HookNames);
        Assert.DoesNotContain("ln_final.hook_normalized", model.HookNames);
        var state = model.StateDictTransformerLens(includeBuffers: false);
        Assert.DoesNotContain(state.Keys, k => k.Contains("ln") || k.Contains("mlp"));
        using var logits = model.forward(RandomTokens(2, 4, 2, 1));
        Assert.Equal([2, 4, 2], logits.shape);
    }

    [PaperModelsFact]
    public void APaperCheckpointLoadsAndPredictsNearTheFloor()
    {
        string dir = Path.Combine(PaperModels.Directory!, "mess3");
        string path = Path.Combine(dir, "629209600.pt");
        var config = TransformerConfig.FromTrainConfigFile(Path.Combine(dir, "train_config.json"));
        Assert.Equal(TransformerConfig.PaperMess3(), config);
        using var model = Checkpoints.LoadModel(path, config);
        using var validation = ValidationSet.Create(BuiltinProcesses.Mess3(), 10, 200_000, 1, 0, CPU);
        Assert.True(validation.IsExact);
        Assert.InRange(validation.FloorMean, 0.8020, 0.8030);
        double[] loss = validation.Evaluate(model);
        for (int t = 0; t < 10; t++)
        {
            Assert.InRange(loss[t], validation.Floor[t] - 1e-6, validation.Floor[t] * 1.01);
        }
    }
}
