using BeliefLens.Core;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Tests;

/// <summary>TransformerLens hook points: names, shapes, and the algebra that ties each one to its neighbours.</summary>
public sealed class HookPointTests
{
    // B 3, P 5, d 16, H 2, e 6, m 32, V 3.
    private static readonly TransformerConfig Tiny = new(nLayers: 2, dModel: 16, nHeads: 2, dHead: 6, dMlp: 32, nCtx: 6, dVocab: 3);

    private static Tensor RandomTokens(int batch, int length, int vocab, ulong seed)
    {
        var rng = new Rng(seed);
        return tensor(Enumerable.Range(0, batch * length).Select(_ => (long)rng.NextInt(vocab)).ToArray(), [batch, length]);
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what, double atol = 1e-5) =>
        Assert.True(expected.allclose(actual, rtol: 1e-4, atol: atol), $"{what}: max difference {(expected - actual).abs().max().item<float>()}");

    [Fact]
    public void EveryHookPointIsListedWithTransformerLensShapes()
    {
        var names = HookedTransformer.HookNamesFor(Tiny);
        Assert.Equal(2 + (2 * 15) + 1, names.Count);
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(2 + (2 * 7) + 1, HookedTransformer.ModelWidthHookNamesFor(Tiny).Count);

        using var model = new HookedTransformer(Tiny, seed: 1);
        using var tokens = RandomTokens(3, 5, 3, 2);
        var (logits, cache) = model.RunWithCache(tokens);
        using (logits)
        using (cache)
        {
            Assert.Equal(names.Order(), cache.Names.Order());
            foreach (string name in names)
            {
                long[] expected = name switch
                {
                    _ when name.EndsWith(".attn.hook_q", StringComparison.Ordinal) || name.EndsWith(".attn.hook_k", StringComparison.Ordinal)
                        || name.EndsWith(".attn.hook_v", StringComparison.Ordinal) || name.EndsWith(".attn.hook_z", StringComparison.Ordinal) => [3, 5, 2, 6],
                    _ when name.EndsWith(".attn.hook_attn_scores", StringComparison.Ordinal) || name.EndsWith(".attn.hook_pattern", StringComparison.Ordinal) => [3, 2, 5, 5],
                    _ when name.Contains(".mlp.", StringComparison.Ordinal) => [3, 5, 32],
                    _ => [3, 5, 16],
                };
                Assert.True(expected.SequenceEqual(cache[name].shape), $"{name}: [{string.Join(",", cache[name].shape)}]");
            }
        }
    }

    [Fact]
    public void EachHookEqualsTheAlgebraOfItsNeighbours()
    {
        using var model = new HookedTransformer(Tiny, seed: 3);
        using var tokens = RandomTokens(3, 5, 3, 4);
        var state = model.StateDictTransformerLens();
        var (logits, cache) = model.RunWithCache(tokens);
        using (logits)
        using (cache)
        {
            for (int l = 0; l < 2; l++)
            {
                string p = $"blocks.{l}.";
                Tensor W(string key) => state[p + key];

                // ln1/ln2 normalized rows: zero mean, unit (biased) variance up to eps 1e-5.
                foreach (string ln in new[] { "ln1", "ln2" })
                {
                    var normalized = cache[p + ln + ".hook_normalized"];
                    AssertClose(zeros(3, 5), normalized.mean([-1]), $"{ln} mean");
                    AssertClose(ones(3, 5), normalized.var(-1, unbiased: false), $"{ln} variance", atol: 1e-3);
                }

                // q, k, v from the normalized residual: x W + b, per head.
                var x = cache[p + "ln1.hook_normalized"] * W("ln1.w") + W("ln1.b"); // [B,P,d]
                foreach (string qkv in new[] { "Q", "K", "V" })
                {
                    var expected = einsum("bpd,hde->bphe", x, W($"attn.W_{qkv}")) + W($"attn.b_{qkv}");
                    AssertClose(expected, cache[p + $"attn.hook_{qkv.ToLowerInvariant()}"], $"hook_{qkv}");
                }

                // Scores: q·k / √e, −∞ above the diagonal; pattern = softmax(scores); z = pattern · v.
                var (q, k, v) = (cache[p + "attn.hook_q"], cache[p + "attn.hook_k"], cache[p + "attn.hook_v"]);
                var scores = cache[p + "attn.hook_attn_scores"];
                var causal = ones(5, 5, dtype: ScalarType.Bool).tril();
                var rawScores = einsum("bqhe,bkhe->bhqk", q, k) / Math.Sqrt(6);
                AssertClose(rawScores.masked_fill(causal.logical_not(), 0), scores.masked_fill(causal.logical_not(), 0), "attn_scores");
                Assert.True(scores.masked_select(causal.logical_not().expand(3, 2, 5, 5)).isneginf().all().item<bool>());
                AssertClose(scores.softmax(-1), cache[p + "attn.hook_pattern"], "pattern");
                var z = cache[p + "attn.hook_z"];
                AssertClose(einsum("bhqk,bkhe->bqhe", cache[p + "attn.hook_pattern"], v), z, "hook_z");

                // z summed through W_O is attn_out.
                AssertClose(einsum("bphe,hed->bpd", z, W("attn.W_O")) + W("attn.b_O"), cache[p + "hook_attn_out"], "attn_out");

                // MLP: pre = x W_in + b_in, post = relu(pre), mlp_out = post W_out + b_out.
                var y = cache[p + "ln2.hook_normalized"] * W("ln2.w") + W("ln2.b");
                var pre = cache[p + "mlp.hook_pre"];
                AssertClose(y.matmul(W("mlp.W_in")) + W("mlp.b_in"), pre, "mlp.hook_pre");
                Assert.True(cache[p + "mlp.hook_post"].eq(pre.relu()).all().item<bool>());
                AssertClose(cache[p + "mlp.hook_post"].matmul(W("mlp.W_out")) + W("mlp.b_out"), cache[p + "hook_mlp_out"], "mlp_out");
            }
        }
    }

    [Fact]
    public void PerHeadAndScoreHooksCanReplaceActivations()
    {
        using var model = new HookedTransformer(Tiny, seed: 5);
        model.UseFusedAttention = true; // a score or pattern hook must still take the explicit path
        using var tokens = RandomTokens(2, 4, 3, 6);
        var state = model.StateDictTransformerLens();
        Tensor? attnOut = null;
        using var zeroZ = model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>>
        {
            ["blocks.0.attn.hook_z"] = z => zeros_like(z),
            ["blocks.0.hook_attn_out"] = a => attnOut = a.clone().DetachFromDisposeScope(),
        });
        AssertClose(state["blocks.0.attn.b_O"].expand(2, 4, 16), attnOut!, "attn_out with z = 0");

        // Uniform attention over the allowed keys, by replacing the scores: the pattern row at query i is 1/(i+1).
        Tensor? pattern = null;
        using var uniform = model.RunWithHooks(tokens, new Dictionary<string, Func<Tensor, Tensor>>
        {
            ["blocks.1.attn.hook_attn_scores"] = s => s.masked_fill(s.isfinite(), 0),
            ["blocks.1.attn.hook_pattern"] = a => pattern = a.clone().DetachFromDisposeScope(),
        });
        for (int i = 0; i < 4; i++)
        {
            AssertClose(full(2, 2, i + 1, 1.0f / (i + 1)), pattern!.select(2, i).narrow(-1, 0, i + 1), $"uniform row {i}");
        }
    }

    [Fact]
    public void CacheActivationsAcceptsEveryHookPoint()
    {
        using var model = new HookedTransformer(Tiny, seed: 7);
        using var tokens = RandomTokens(3, 6, 3, 8);
        var (logits, full) = model.RunWithCache(tokens);
        using (logits)
        using (full)
        using (var partial = model.CacheActivations(tokens, model.HookNames.Where(n => n.StartsWith("blocks.0.", StringComparison.Ordinal)).ToList()))
        {
            Assert.Equal(15, partial.Names.Count);
            foreach (string name in partial.Names)
            {
                Assert.True(full[name].eq(partial[name]).all().item<bool>(), name);
            }
        }
    }
}
