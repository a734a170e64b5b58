using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// What training, checkpoints, validation and probing need of a model, whatever its architecture: the transformer
/// (<see cref="HookedTransformer"/>) or a recurrent network (<see cref="RecurrentModel"/>). Build one with
/// <see cref="SequenceModels.Create"/>. Every model keeps its parameters in one flat buffer and its gradients in a
/// second, so <see cref="FlatOptimizer"/> steps any of them the same way.
/// </summary>
public interface ISequenceModel : IDisposable
{
    /// <summary>The model's config; <see cref="TransformerConfig.Architecture"/> says which kind it is.</summary>
    TransformerConfig Config { get; }

    /// <summary>Where the parameters live.</summary>
    Device Device { get; }

    long ParameterCount { get; }

    /// <summary>All parameters, flat [ParameterCount]; every registered parameter is a view into it.</summary>
    Tensor FlatParameters { get; }

    /// <summary>All gradients, flat [ParameterCount]; backward accumulates here.</summary>
    Tensor FlatGradients { get; }

    /// <summary>bool [ParameterCount]: true where weight decay applies (weight matrices, never biases or norms).</summary>
    Tensor DecayMask { get; }

    /// <summary>Every hook point, in forward order (see <see cref="SequenceModels.HookNamesFor"/>).</summary>
    IReadOnlyList<string> HookNames { get; }

    void ZeroGrad();

    /// <summary>tokens [B,P] int64 → logits [B,P,V].</summary>
    Tensor forward(Tensor tokens);

    /// <summary>Mean cross-entropy of next-token prediction on all positions: tokens [B, P+1] int64.</summary>
    Tensor NextTokenLoss(Tensor sequences);

    /// <summary>Runs the model with hooks for this call only; each gets an activation and returns it or a same-shaped replacement.</summary>
    Tensor RunWithHooks(Tensor tokens, IReadOnlyDictionary<string, Func<Tensor, Tensor>> hooks);

    /// <summary>Logits plus detached copies of the named activations (default: every hook).</summary>
    (Tensor Logits, ActivationCache Cache) RunWithCache(Tensor tokens, IEnumerable<string>? names = null);

    /// <summary>Only the named activations, computing no more layers than they need.</summary>
    ActivationCache CacheActivations(Tensor tokens, IReadOnlyCollection<string> names);

    /// <summary>Copies of the weights under the checkpoint's key names (TransformerLens names, or PyTorch's multi-layer RNN names).</summary>
    Dictionary<string, Tensor> CheckpointStateDict();

    /// <summary>Loads a state dict with <see cref="CheckpointStateDict"/>'s keys and shapes; errors name <paramref name="source"/>.</summary>
    void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, string source = "state dict");
}

/// <summary>Builds models by architecture and answers, without building one, which hooks and probe sites a config has.</summary>
public static class SequenceModels
{
    /// <summary>
    /// Logits [B,P,V] plus detached copies of the named activations (default: every hook point), without gradients.
    /// Dispose the returned cache (or let the caller's dispose scope collect it).
    /// </summary>
    internal static (Tensor Logits, ActivationCache Cache) RunCaching(ISequenceModel model, Tensor tokens, IEnumerable<string>? names)
    {
        var cache = new ActivationCache();
        var wanted = (names ?? model.HookNames).ToDictionary(
            n => n,
            n => (Func<Tensor, Tensor>)(x =>
            {
                var saved = x.detach().clone();
                saved.MoveToOuterDisposeScope();
                cache.Add(n, saved);
                return x;
            }),
            StringComparer.Ordinal);
        using (no_grad())
        {
            return (model.RunWithHooks(tokens, wanted), cache);
        }
    }

    /// <summary>A freshly initialised model of <paramref name="config"/>'s architecture; the same seed gives the same weights.</summary>
    public static ISequenceModel Create(TransformerConfig config, Device? device = null, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsRecurrent ? new RecurrentModel(config, device, seed) : new HookedTransformer(config, device, seed);
    }

    /// <summary>Every hook point of a model of <paramref name="config"/>, in forward order.</summary>
    public static IReadOnlyList<string> HookNamesFor(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsRecurrent ? RecurrentModel.HookNamesFor(config) : HookedTransformer.HookNamesFor(config);
    }

    /// <summary>The hooks a probe may read: one vector per position (the transformer's model-width hooks; every recurrent hook).</summary>
    public static IReadOnlyList<string> ProbeSitesFor(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsRecurrent ? RecurrentModel.HookNamesFor(config) : HookedTransformer.ModelWidthHookNamesFor(config);
    }

    /// <summary>The last layer's output: <c>blocks.{L-1}.hook_resid_post</c>, or <c>layers.{L-1}.hook_hidden</c>.</summary>
    public static string DefaultSite(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsRecurrent ? RecurrentModel.HiddenHook(config.NLayers - 1) : $"blocks.{config.NLayers - 1}.hook_resid_post";
    }

    /// <summary>
    /// The input and every layer's output: for the transformer blocks.0.hook_resid_pre, each blocks.{l}.hook_resid_post
    /// and ln_final.hook_normalized (with LayerNorm); for a recurrent model hook_input and each layers.{l}.hook_hidden.
    /// </summary>
    public static IReadOnlyList<string> DefaultSites(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.IsRecurrent)
        {
            return RecurrentModel.HookNamesFor(config);
        }

        var sites = new List<string> { "blocks.0.hook_resid_pre" };
        sites.AddRange(Enumerable.Range(0, config.NLayers).Select(l => $"blocks.{l}.hook_resid_post"));
        if (config.LayerNorm)
        {
            sites.Add("ln_final.hook_normalized");
        }

        return sites;
    }

    /// <summary>The width of a probe site's vector: d_vocab for a recurrent model's one-hot hook_input, else d_model.</summary>
    public static int SiteWidth(TransformerConfig config, string site)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.IsRecurrent && site == RecurrentModel.InputHook ? config.DVocab : config.DModel;
    }
}
