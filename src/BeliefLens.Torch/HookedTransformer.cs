using BeliefLens.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BeliefLens.Torch;

#pragma warning disable SA1300, IDE1006 // fields carry TransformerLens's names (W_E, b_U, ln_final): they are the state-dict keys

/// <summary>
/// A GPT-style decoder matching TransformerLens's HookedTransformer (pre-LN, learned absolute positions,
/// causal attention with biases and 1/√d_head scaling, LN eps 1e-5, unembedding with bias).
///
/// Shapes: B batch, P positions (≤ n_ctx), d d_model, H n_heads, e d_head, m d_mlp, V d_vocab.
///
/// The module tree mirrors TransformerLens: <c>embed</c>, <c>pos_embed</c>, <c>blocks.{l}.{ln1,attn,ln2,mlp}</c>,
/// <c>ln_final</c>, <c>unembed</c>; every submodule is a field registered by <c>RegisterComponents()</c>, and a child
/// never holds its parent. So <c>parameters()</c> yields every weight exactly once and <c>state_dict()</c> has
/// TransformerLens's keys and shapes (W_Q [H,d,e], W_O [H,e,d], …) plus the attn.mask / attn.IGNORE buffers.
///
/// Storage: every parameter is a view into one flat buffer (<see cref="FlatParameters"/>), and its gradient a view
/// into a second (<see cref="FlatGradients"/>), so an optimizer step is a handful of tensor ops. W_Q/W_K/W_V of a
/// layer share one [d, 3, H, e] segment, so the forward pass runs one fused QKV matmul. <c>to(device)</c> and
/// <c>to(dtype)</c> move the flat buffers and re-point every parameter at them.
/// </summary>
public sealed class HookedTransformer : nn.Module<Tensor, Tensor>, ISequenceModel
{
    /// <summary>TransformerLens's LayerNorm epsilon (HookedTransformerConfig.eps).</summary>
    public const double LayerNormEps = 1e-5;

    private readonly Embed embed;
    private readonly PosEmbed pos_embed;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly HookedLayerNorm? ln_final;
    private readonly Unembed unembed;
    private readonly ModelContext _context; // not a module or tensor: RegisterComponents leaves it alone

    public HookedTransformer(TransformerConfig config, Device? device = null, ulong seed = 0) : base("HookedTransformer")
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        int d = config.DModel, h = config.NHeads, e = config.DHead, m = config.DMlp, v = config.DVocab;

        // Lay out every parameter in one buffer; the layout order is the optimizer-state order and the init order.
        var layout = new List<ParameterStore.Segment>
        {
            new("embed.W_E", [v, d], ParameterStore.Init.Normal, Decay: true),
            new("pos_embed.W_pos", [config.NCtx, d], ParameterStore.Init.Normal, Decay: true),
        };
        for (int l = 0; l < config.NLayers; l++)
        {
            string p = $"blocks.{l}.";
            if (config.LayerNorm)
            {
                layout.Add(new(p + "ln1.w", [d], ParameterStore.Init.One, Decay: false));
                layout.Add(new(p + "ln1.b", [d], ParameterStore.Init.Zero, Decay: false));
            }

            layout.Add(new(p + "attn.W_QKV", [d, 3, h, e], ParameterStore.Init.Normal, Decay: true)); // columns (q|k|v, head, e)
            layout.Add(new(p + "attn.b_QKV", [3, h, e], ParameterStore.Init.Zero, Decay: false));
            layout.Add(new(p + "attn.W_O", [h, e, d], ParameterStore.Init.Normal, Decay: true));
            layout.Add(new(p + "attn.b_O", [d], ParameterStore.Init.Zero, Decay: false));
            if (!config.AttnOnly)
            {
                if (config.LayerNorm)
                {
                    layout.Add(new(p + "ln2.w", [d], ParameterStore.Init.One, Decay: false));
                    layout.Add(new(p + "ln2.b", [d], ParameterStore.Init.Zero, Decay: false));
                }

                layout.Add(new(p + "mlp.W_in", [d, m], ParameterStore.Init.Normal, Decay: true));
                layout.Add(new(p + "mlp.b_in", [m], ParameterStore.Init.Zero, Decay: false));
                layout.Add(new(p + "mlp.W_out", [m, d], ParameterStore.Init.Normal, Decay: true));
                layout.Add(new(p + "mlp.b_out", [d], ParameterStore.Init.Zero, Decay: false));
            }
        }

        if (config.LayerNorm)
        {
            layout.Add(new("ln_final.w", [d], ParameterStore.Init.One, Decay: false));
            layout.Add(new("ln_final.b", [d], ParameterStore.Init.Zero, Decay: false));
        }

        layout.Add(new("unembed.W_U", [d, v], ParameterStore.Init.Normal, Decay: true));
        layout.Add(new("unembed.b_U", [v], ParameterStore.Init.Zero, Decay: false));

        var store = new ParameterStore(layout, seed, InitStd(config), device ?? CPU);
        _context = new ModelContext(config, store);
        ParameterCount = store.Count;

        embed = new Embed(_context);
        pos_embed = new PosEmbed(_context);
        blocks = new ModuleList<TransformerBlock>(Enumerable.Range(0, config.NLayers).Select(l => new TransformerBlock(_context, l)).ToArray());
        ln_final = config.LayerNorm ? new HookedLayerNorm(_context, "ln_final") : null;
        unembed = new Unembed(_context);
        RegisterComponents();
    }

    public TransformerConfig Config { get; }

    /// <summary>Where the parameters live now (follows <c>to(device)</c>).</summary>
    public Device Device => _context.Store.Values.device;

    public long ParameterCount { get; }

    /// <summary>All parameters, flat [ParameterCount]; every registered parameter is a view into it. Optimizers update it in place.</summary>
    public Tensor FlatParameters => _context.Store.Values;

    /// <summary>All gradients, flat [ParameterCount]; backward accumulates here. Zero it with <see cref="ZeroGrad"/>.</summary>
    public Tensor FlatGradients => _context.Store.Grads;

    /// <summary>
    /// 1 where AdamW/SGD weight decay applies, 0 elsewhere, flat [ParameterCount] on the model's device: the weight
    /// matrices and embeddings (every W_*), never biases (b_Q [H,e] included) or LayerNorm gains/biases.
    /// </summary>
    public Tensor DecayMask => _context.Store.DecayMask;

    /// <summary>
    /// Use the fused scaled_dot_product_attention kernel when no hook needs the scores or the pattern. Off by default:
    /// at the paper's size (P = 10, d_head = 8) the explicit softmax path measured as fast or faster on CPU.
    /// </summary>
    public bool UseFusedAttention
    {
        get => _context.UseFusedAttention;
        set => _context.UseFusedAttention = value;
    }

    public void ZeroGrad() => _context.Store.Grads.zero_();

    /// <summary>TransformerLens's initializer range for the GPT-2 init: 0.8 / √d_model.</summary>
    public static double InitStd(TransformerConfig config) => 0.8 / Math.Sqrt(config.DModel);

    // ---------------------------------------------------------------- device and dtype moves

    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => MoveTo(device, dtype);

    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) =>
        MoveTo(new Device(deviceType, deviceIndex), _context.Store.Values.dtype);

    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => MoveTo(_context.Store.Values.device, dtype);

    /// <summary>Moves the flat buffers and re-points every parameter (and buffer) of the tree at the moved copies.</summary>
    private HookedTransformer MoveTo(Device device, ScalarType dtype)
    {
        if (!is_floating_point(dtype))
        {
            throw new ArgumentException($"dtype {dtype}: the model's parameters must stay floating point.", nameof(dtype));
        }

        if (_context.Store.MoveTo(device, dtype))
        {
            embed.Rebind();
            pos_embed.Rebind();
            foreach (var block in blocks)
            {
                block.Rebind();
            }

            ln_final?.Rebind();
            unembed.Rebind();
        }

        return this;
    }

    private static bool is_floating_point(ScalarType dtype) =>
        dtype is ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64;

    // ---------------------------------------------------------------- hook points

    /// <summary>Every hook point name, in TransformerLens spelling, in forward order.</summary>
    public IReadOnlyList<string> HookNames => HookNamesFor(Config);

    /// <summary>
    /// The hook point names a model of <paramref name="config"/> has, without building it (to check sites up front), in
    /// forward order. Shapes as in TransformerLens: [B,P,d] for the residual stream, the embeddings, attn_out, mlp_out
    /// and every hook_normalized; [B,P,H,e] for attn.hook_q/k/v/z; [B,H,P,P] for attn.hook_attn_scores (after the
    /// causal mask, before the softmax) and attn.hook_pattern; [B,P,m] for mlp.hook_pre/hook_post.
    /// </summary>
    public static IReadOnlyList<string> HookNamesFor(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var names = new List<string> { "hook_embed", "hook_pos_embed" };
        for (int l = 0; l < config.NLayers; l++)
        {
            string p = $"blocks.{l}.";
            names.Add(p + "hook_resid_pre");
            if (config.LayerNorm)
            {
                names.Add(p + "ln1.hook_normalized");
            }

            names.AddRange([p + "attn.hook_q", p + "attn.hook_k", p + "attn.hook_v", p + "attn.hook_attn_scores", p + "attn.hook_pattern", p + "attn.hook_z"]);
            names.Add(p + "hook_attn_out");
            if (!config.AttnOnly)
            {
                names.Add(p + "hook_resid_mid");
                if (config.LayerNorm)
                {
                    names.Add(p + "ln2.hook_normalized");
                }

                names.AddRange([p + "mlp.hook_pre", p + "mlp.hook_post", p + "hook_mlp_out"]);
            }

            names.Add(p + "hook_resid_post");
        }

        if (config.LayerNorm)
        {
            names.Add("ln_final.hook_normalized");
        }

        return names;
    }

    /// <summary>The hook points whose activations are [B, P, d_model] (the residual stream and what is added to or read from it): the probe sites.</summary>
    public static IReadOnlyList<string> ModelWidthHookNamesFor(TransformerConfig config) =>
        HookNamesFor(config).Where(n => !n.Contains(".attn.", StringComparison.Ordinal) && !n.Contains(".mlp.", StringComparison.Ordinal)).ToList();

    /// <summary>
    /// Runs the model with hooks registered only for this call. Each hook gets the activation in TransformerLens
    /// shape (see <see cref="HookNamesFor"/>) and returns it or a replacement of the same shape.
    /// </summary>
    public Tensor RunWithHooks(Tensor tokens, IReadOnlyDictionary<string, Func<Tensor, Tensor>> hooks)
    {
        ArgumentNullException.ThrowIfNull(hooks);
        var valid = HookNames.ToHashSet(StringComparer.Ordinal);
        foreach (string name in hooks.Keys)
        {
            if (!valid.Contains(name))
            {
                throw new BeliefLensInputException($"hook '{name}': no such hook point; valid names look like {string.Join(", ", HookNames.Take(5))}, … ({valid.Count} in all).");
            }
        }

        if (_context.Hooks is not null)
        {
            throw new InvalidOperationException("Hooks are already active; nested hooked runs are not supported.");
        }

        _context.Hooks = new Dictionary<string, Func<Tensor, Tensor>>(hooks, StringComparer.Ordinal);
        try
        {
            return forward(tokens);
        }
        finally
        {
            _context.Hooks = null;
        }
    }

    /// <summary>
    /// Logits [B,P,V] plus detached copies of the named activations. Names default to every hook point.
    /// Dispose the returned cache (or let the caller's dispose scope collect it).
    /// </summary>
    public (Tensor Logits, ActivationCache Cache) RunWithCache(Tensor tokens, IEnumerable<string>? names = null) =>
        SequenceModels.RunCaching(this, tokens, names);

    /// <summary>
    /// Only the named activations (detached copies), computing no more of the model than they need: blocks after the
    /// last block that holds a requested hook are skipped, and so are ln_final and the unembedding unless
    /// ln_final.hook_normalized is requested. The activations equal those of <see cref="RunWithCache"/> (a causal
    /// forward pass does not look ahead). Accepts every name of <see cref="HookNames"/>. Dispose the returned cache.
    /// </summary>
    public ActivationCache CacheActivations(Tensor tokens, IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        int needed = names.Select(BlocksNeededFor).DefaultIfEmpty(Config.NLayers).Max();
        _context.BlockLimit = needed;
        try
        {
            var (output, cache) = RunWithCache(tokens, names);
            output.Dispose();
            return cache;
        }
        finally
        {
            _context.BlockLimit = null;
        }
    }

    /// <summary>How many blocks must run for hook <paramref name="name"/> to fire (n_layers for ln_final and unknown names).</summary>
    public int BlocksNeededFor(string name)
    {
        if (name is "hook_embed" or "hook_pos_embed")
        {
            return 0;
        }

        const string prefix = "blocks.";
        if (name.StartsWith(prefix, StringComparison.Ordinal))
        {
            int dot = name.IndexOf('.', prefix.Length);
            if (dot > 0 && int.TryParse(name.AsSpan(prefix.Length, dot - prefix.Length), System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out int layer) && layer < Config.NLayers)
            {
                return layer + 1;
            }
        }

        return Config.NLayers;
    }

    // ---------------------------------------------------------------- forward

    /// <summary>tokens [B,P] int64 → logits [B,P,V].</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        long batch = tokens.shape[0], positions = tokens.shape[1];
        if (positions > Config.NCtx)
        {
            throw new BeliefLensInputException($"tokens: {positions} positions exceed n_ctx {Config.NCtx}; give at most n_ctx tokens.");
        }

        var shape = new RowShape(batch, positions);
        var residual = (embed.forward(tokens, shape) + pos_embed.forward(shape)).view(batch * positions, Config.DModel); // [B·P, d]
        int blocksToRun = _context.BlockLimit ?? Config.NLayers;
        for (int l = 0; l < blocksToRun; l++)
        {
            residual = blocks[l].forward(residual, shape);
        }

        if (blocksToRun < Config.NLayers)
        {
            return residual.MoveToOuterDisposeScope(); // truncated run for CacheActivations: the caller discards it
        }

        var normalized = ln_final is null ? residual : ln_final.forward(residual, shape); // [B·P, d]
        return unembed.forward(normalized).view(batch, positions, Config.DVocab).MoveToOuterDisposeScope();
    }

    /// <summary>Mean cross-entropy of next-token prediction on all positions: tokens [B, P+1] int64.</summary>
    public Tensor NextTokenLoss(Tensor sequences)
    {
        using var scope = NewDisposeScope();
        long positions = sequences.shape[1] - 1;
        var logits = forward(sequences.narrow(1, 0, positions)); // [B,P,V]
        var targets = sequences.narrow(1, 1, positions); // [B,P]
        return F.cross_entropy(logits.view(-1, Config.DVocab), targets.reshape(-1)).MoveToOuterDisposeScope();
    }

    // ---------------------------------------------------------------- state dict (TransformerLens names)

    /// <summary>
    /// Copies of <c>state_dict()</c> (TransformerLens names and shapes, contiguous, on the model's device). With
    /// <paramref name="includeBuffers"/>, the attn.mask / attn.IGNORE buffers TransformerLens keeps are included, so
    /// Python's HookedTransformer loads the file strictly.
    /// </summary>
    public Dictionary<string, Tensor> StateDictTransformerLens(bool includeBuffers = true)
    {
        using var guard = no_grad();
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, parameter) in named_parameters())
        {
            result[name] = parameter.detach().contiguous().clone();
        }

        if (includeBuffers)
        {
            foreach (var (name, buffer) in named_buffers())
            {
                result[name] = buffer.clone();
            }
        }

        return result;
    }

    /// <summary>
    /// Loads a TransformerLens-named state dict (any float dtype, any device). Every parameter must be present with
    /// its exact shape; the attn.mask / attn.IGNORE buffers are accepted and ignored; any other key is an error.
    /// </summary>
    /// <summary>The checkpoint's state dict: <see cref="StateDictTransformerLens"/> with TransformerLens's buffers.</summary>
    Dictionary<string, Tensor> ISequenceModel.CheckpointStateDict() => StateDictTransformerLens();

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, string source = "state dict") =>
        StateDicts.CopyInto(state, named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal), source,
            "the checkpoint does not match this model config (check n_layers, attn_only, normalization_type).", "fix the config.",
            ignorable: key => key.EndsWith(".attn.mask", StringComparison.Ordinal) || key.EndsWith(".attn.IGNORE", StringComparison.Ordinal));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing); // disposes the parameter views and the submodules
        if (disposing)
        {
            _context.Store.Dispose();
        }
    }

    // ---------------------------------------------------------------- submodules (TransformerLens's module names)

    /// <summary>embed.W_E [V, d]: tokens [B,P] → [B,P,d] (hook_embed).</summary>
    internal sealed class Embed : nn.Module
    {
        private readonly ModelContext _context;
        private Parameter W_E;

        public Embed(ModelContext context) : base("embed")
        {
            _context = context;
            W_E = context.Store.Take("embed.W_E");
            RegisterComponents();
        }

        public void Rebind() => ConditionallyRegisterParameter(nameof(W_E), W_E = _context.Store.Take("embed.W_E"));

        public Tensor forward(Tensor tokens, RowShape s) =>
            _context.Hook("hook_embed", W_E.index_select(0, tokens.reshape(-1)).view(s.Batch, s.Positions, -1));
    }

    /// <summary>pos_embed.W_pos [n_ctx, d]: → [B,P,d] (hook_pos_embed).</summary>
    internal sealed class PosEmbed : nn.Module
    {
        private readonly ModelContext _context;
        private Parameter W_pos;

        public PosEmbed(ModelContext context) : base("pos_embed")
        {
            _context = context;
            W_pos = context.Store.Take("pos_embed.W_pos");
            RegisterComponents();
        }

        public void Rebind() => ConditionallyRegisterParameter(nameof(W_pos), W_pos = _context.Store.Take("pos_embed.W_pos"));

        public Tensor forward(RowShape s) =>
            _context.Hook("hook_pos_embed", W_pos.narrow(0, 0, s.Positions).unsqueeze(0).expand(s.Batch, s.Positions, -1));
    }

    /// <summary>
    /// LayerNorm (eps 1e-5) with gain w [d] and bias b [d] over rows [B·P, d]. Without a hook on
    /// <c>{name}.hook_normalized</c> it is one fused op; with one, the hook sees the normalized value [B,P,d] before the
    /// affine step, as in TransformerLens.
    /// </summary>
    internal sealed class HookedLayerNorm : nn.Module
    {
        private const double Eps = LayerNormEps;
        private readonly ModelContext _context;
        private readonly string _prefix;
        private readonly string _hookNormalized;
        private Parameter w;
        private Parameter b;

        public HookedLayerNorm(ModelContext context, string name) : base(name)
        {
            (_context, _prefix, _hookNormalized) = (context, name, name + ".hook_normalized");
            (w, b) = (context.Store.Take(name + ".w"), context.Store.Take(name + ".b"));
            RegisterComponents();
        }

        public void Rebind()
        {
            ConditionallyRegisterParameter(nameof(w), w = _context.Store.Take(_prefix + ".w"));
            ConditionallyRegisterParameter(nameof(b), b = _context.Store.Take(_prefix + ".b"));
        }

        public Tensor forward(Tensor x, RowShape s)
        {
            long[] shape = [x.shape[1]];
            if (!_context.HasHook(_hookNormalized))
            {
                return F.layer_norm(x, shape, w, b, Eps);
            }

            var normalized = _context.HookRows(_hookNormalized, F.layer_norm(x, shape, null, null, Eps), s);
            return normalized * w + b;
        }
    }

    /// <summary>
    /// Causal multi-head attention, TransformerLens layout: W_Q/W_K/W_V [H,d,e], b_Q/b_K/b_V [H,e], W_O [H,e,d],
    /// b_O [d], plus TransformerLens's mask [n_ctx,n_ctx] and IGNORE buffers. Q, K and V are views of one
    /// [d, 3, H, e] segment, so the projection is one matmul.
    /// </summary>
    internal sealed class Attention : nn.Module
    {
        private readonly ModelContext _context;
        private readonly string _prefix;
        private readonly string _hookQ, _hookK, _hookV, _hookScores, _hookPattern, _hookZ;
        private Parameter W_Q, W_K, W_V, W_O, b_Q, b_K, b_V, b_O;
        private Tensor mask;   // [n_ctx, n_ctx] bool, true on and below the diagonal (TransformerLens's buffer)
        private Tensor IGNORE; // [] float, −∞ (TransformerLens's buffer)

        public Attention(ModelContext context, int layer) : base("attn")
        {
            _context = context;
            _prefix = $"blocks.{layer}.attn.";
            (_hookQ, _hookK, _hookV) = (_prefix + "hook_q", _prefix + "hook_k", _prefix + "hook_v");
            (_hookScores, _hookPattern, _hookZ) = (_prefix + "hook_attn_scores", _prefix + "hook_pattern", _prefix + "hook_z");
            (W_Q, W_K, W_V, W_O, b_Q, b_K, b_V, b_O) = TakeParameters();
            int n = context.Config.NCtx;
            var device = context.Store.Values.device;
            mask = ones(n, n, dtype: ScalarType.Bool, device: device).tril().DetachFromDisposeScope();
            IGNORE = tensor(float.NegativeInfinity, dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
            RegisterComponents();
        }

        private (Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter, Parameter) TakeParameters()
        {
            var store = _context.Store;
            string w = _prefix + "W_QKV", b = _prefix + "b_QKV";
            return (
                store.Take(w, t => t.select(1, 0).permute(1, 0, 2)), // [d,3,H,e] → [H,d,e]
                store.Take(w, t => t.select(1, 1).permute(1, 0, 2)),
                store.Take(w, t => t.select(1, 2).permute(1, 0, 2)),
                store.Take(_prefix + "W_O"),
                store.Take(b, t => t.select(0, 0)), // [3,H,e] → [H,e]
                store.Take(b, t => t.select(0, 1)),
                store.Take(b, t => t.select(0, 2)),
                store.Take(_prefix + "b_O"));
        }

        public void Rebind()
        {
            (W_Q, W_K, W_V, W_O, b_Q, b_K, b_V, b_O) = TakeParameters();
            foreach (var (name, p) in new[] { ("W_Q", W_Q), ("W_K", W_K), ("W_V", W_V), ("W_O", W_O), ("b_Q", b_Q), ("b_K", b_K), ("b_V", b_V), ("b_O", b_O) })
            {
                ConditionallyRegisterParameter(name, p);
            }

            var device = _context.Store.Values.device;
            ConditionallyRegisterBuffer(nameof(mask), mask = mask.to(device).DetachFromDisposeScope());
            ConditionallyRegisterBuffer(nameof(IGNORE), IGNORE = IGNORE.to(device).DetachFromDisposeScope());
        }

        /// <summary>x: the normalized residual [B·P, d] → attention output before b_O is hooked: [B·P, d].</summary>
        public Tensor forward(Tensor x, RowShape s)
        {
            var cfg = _context.Config;
            int d = cfg.DModel, h = cfg.NHeads, e = cfg.DHead;

            // One fused projection: [d, 3·H·e] with columns (q|k|v, head, e), split by a single view + permute.
            var weight = stack([W_Q.permute(1, 0, 2), W_K.permute(1, 0, 2), W_V.permute(1, 0, 2)], 1).view(d, 3 * h * e);
            var bias = stack([b_Q, b_K, b_V], 0).view(3 * h * e);
            var qkv = addmm(bias, x, weight, 1, 1).view(s.Batch, s.Positions, 3, h, e).permute(2, 0, 3, 1, 4); // [3, B, H, P, e]
            var q = HookHeads(_hookQ, qkv[0]); // each [B, H, P, e]
            var k = HookHeads(_hookK, qkv[1]);
            var v = HookHeads(_hookV, qkv[2]);
            Tensor z; // [B, H, P, e]
            if (_context.UseFusedAttention && !_context.HasHook(_hookScores) && !_context.HasHook(_hookPattern))
            {
                z = F.scaled_dot_product_attention(q, k, v, is_casual: true);
            }
            else
            {
                var causal = _context.CausalMask.narrow(0, 0, s.Positions).narrow(1, 0, s.Positions); // [P,P], 0 or −∞
                var scores = _context.Hook(_hookScores, matmul(q, k.transpose(-1, -2)) * (1.0 / Math.Sqrt(e)) + causal); // [B, H, P, P]
                var pattern = _context.Hook(_hookPattern, scores.softmax(-1)); // [B, H, P, P]
                z = matmul(pattern, v);
            }

            z = HookHeads(_hookZ, z);
            return addmm(b_O, z.transpose(1, 2).reshape(s.Batch * s.Positions, h * e), W_O.view(h * e, d), 1, 1); // [B·P, d]
        }

        /// <summary>Hooks see per-head tensors as [B, P, H, e], like TransformerLens; the model works on [B, H, P, e].</summary>
        private Tensor HookHeads(string name, Tensor x) =>
            _context.HasHook(name) ? _context.Hook(name, x.transpose(1, 2)).transpose(1, 2) : x;
    }

    /// <summary>MLP: W_in [d, m], b_in [m], W_out [m, d], b_out [d]; rows [B·P, d] → [B·P, d] (hook_pre, hook_post: [B,P,m]).</summary>
    internal sealed class Mlp : nn.Module
    {
        private readonly ModelContext _context;
        private readonly string _prefix;
        private Parameter W_in, b_in, W_out, b_out;

        public Mlp(ModelContext context, int layer) : base("mlp")
        {
            (_context, _prefix) = (context, $"blocks.{layer}.mlp.");
            (W_in, b_in, W_out, b_out) = TakeParameters();
            RegisterComponents();
        }

        private (Parameter, Parameter, Parameter, Parameter) TakeParameters() =>
            (_context.Store.Take(_prefix + "W_in"), _context.Store.Take(_prefix + "b_in"), _context.Store.Take(_prefix + "W_out"), _context.Store.Take(_prefix + "b_out"));

        public void Rebind()
        {
            (W_in, b_in, W_out, b_out) = TakeParameters();
            foreach (var (name, p) in new[] { ("W_in", W_in), ("b_in", b_in), ("W_out", W_out), ("b_out", b_out) })
            {
                ConditionallyRegisterParameter(name, p);
            }
        }

        public Tensor forward(Tensor y, RowShape s)
        {
            var pre = _context.HookRows(_prefix + "hook_pre", addmm(b_in, y, W_in, 1, 1), s); // [B·P, m]
            var post = _context.HookRows(_prefix + "hook_post", _context.Config.ActFn == "gelu" ? F.gelu(pre) : F.relu(pre), s);
            return addmm(b_out, post, W_out, 1, 1);
        }
    }

    /// <summary>unembed.W_U [d, V], unembed.b_U [V]: rows [B·P, d] → logits [B·P, V].</summary>
    internal sealed class Unembed : nn.Module
    {
        private readonly ModelContext _context;
        private Parameter W_U, b_U;

        public Unembed(ModelContext context) : base("unembed")
        {
            _context = context;
            (W_U, b_U) = (context.Store.Take("unembed.W_U"), context.Store.Take("unembed.b_U"));
            RegisterComponents();
        }

        public void Rebind()
        {
            ConditionallyRegisterParameter(nameof(W_U), W_U = _context.Store.Take("unembed.W_U"));
            ConditionallyRegisterParameter(nameof(b_U), b_U = _context.Store.Take("unembed.b_U"));
        }

        public Tensor forward(Tensor x) => addmm(b_U, x, W_U, 1, 1);
    }

    /// <summary>One pre-LN block: x + attn(ln1(x)), then + mlp(ln2(·)). Works on the residual as rows [B·P, d].</summary>
    internal sealed class TransformerBlock : nn.Module
    {
        private readonly ModelContext _context;
        private readonly string _hookResidPre, _hookAttnOut, _hookResidMid, _hookMlpOut, _hookResidPost;
        private readonly HookedLayerNorm? ln1;
        private readonly Attention attn;
        private readonly HookedLayerNorm? ln2;
        private readonly Mlp? mlp;

        public TransformerBlock(ModelContext context, int layer) : base($"blocks.{layer}")
        {
            _context = context;
            string p = $"blocks.{layer}.";
            (_hookResidPre, _hookAttnOut, _hookResidMid, _hookMlpOut, _hookResidPost) =
                (p + "hook_resid_pre", p + "hook_attn_out", p + "hook_resid_mid", p + "hook_mlp_out", p + "hook_resid_post");
            var cfg = context.Config;
            ln1 = cfg.LayerNorm ? new HookedLayerNorm(context, p + "ln1") : null;
            attn = new Attention(context, layer);
            ln2 = cfg.LayerNorm && !cfg.AttnOnly ? new HookedLayerNorm(context, p + "ln2") : null;
            mlp = cfg.AttnOnly ? null : new Mlp(context, layer);
            RegisterComponents();
        }

        public void Rebind()
        {
            ln1?.Rebind();
            attn.Rebind();
            ln2?.Rebind();
            mlp?.Rebind();
        }

        /// <summary>residual [B·P, d] → [B·P, d].</summary>
        public Tensor forward(Tensor residual, RowShape s)
        {
            residual = _context.HookRows(_hookResidPre, residual, s);
            var x = ln1 is null ? residual : ln1.forward(residual, s);
            var attnOut = _context.HookRows(_hookAttnOut, attn.forward(x, s), s);
            if (mlp is null)
            {
                return _context.HookRows(_hookResidPost, residual + attnOut, s);
            }

            var mid = _context.HookRows(_hookResidMid, residual + attnOut, s);
            var y = ln2 is null ? mid : ln2.forward(mid, s);
            var mlpOut = _context.HookRows(_hookMlpOut, mlp.forward(y, s), s);
            return _context.HookRows(_hookResidPost, mid + mlpOut, s);
        }
    }
}

/// <summary>Batch and position counts of a forward pass; the model works on rows [B·P, width].</summary>
internal readonly record struct RowShape(long Batch, long Positions);

/// <summary>What every submodule of one model shares: config, parameter storage, active hooks. Not a module.</summary>
internal sealed class ModelContext(TransformerConfig config, ParameterStore store)
{
    public TransformerConfig Config { get; } = config;
    public ParameterStore Store { get; } = store;
    public Dictionary<string, Func<Tensor, Tensor>>? Hooks { get; set; }

    /// <summary>Set only inside CacheActivations: run this many blocks, then stop (no logits).</summary>
    public int? BlockLimit { get; set; }

    public bool UseFusedAttention { get; set; }

    /// <summary>Additive causal mask [n_ctx, n_ctx]: 0 on and below the diagonal, −∞ above.</summary>
    public Tensor CausalMask => Store.CausalMask;

    public bool HasHook(string name) => Hooks is not null && Hooks.ContainsKey(name);

    /// <summary>An identity site: returns x, or what the registered hook returns for it.</summary>
    public Tensor Hook(string name, Tensor x) => Hooks is not null && Hooks.TryGetValue(name, out var hook) ? hook(x) : x;

    /// <summary>Hooks see row tensors [B·P, w] as [B, P, w], like TransformerLens.</summary>
    public Tensor HookRows(string name, Tensor x, RowShape s) =>
        HasHook(name) ? Hook(name, x.view(s.Batch, s.Positions, x.shape[1])).reshape(s.Batch * s.Positions, x.shape[1]) : x;
}

/// <summary>
/// One flat buffer holding every parameter, a second for the gradients, and the weight-decay mask. Parameters are
/// views of named segments (<see cref="Take"/>), with their .grad a view of the same span of the gradient buffer, so
/// backward accumulates straight into <see cref="Grads"/>.
/// </summary>
internal sealed class ParameterStore : IDisposable
{
    private readonly Dictionary<string, (long Offset, long[] Shape)> _segments = new(StringComparer.Ordinal);

    public ParameterStore(IReadOnlyList<Segment> layout, ulong seed, double std, Device device)
    {
        long total = 0;
        foreach (var segment in layout)
        {
            _segments[segment.Name] = (total, segment.Shape);
            total += segment.Shape.Aggregate(1L, (a, b) => a * b);
        }

        Count = total;
        var (initial, decay) = InitialValues(layout, total, seed, std);
        Values = tensor(initial, [total], dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
        Grads = zeros([total], dtype: ScalarType.Float32, device: device).DetachFromDisposeScope();
        DecayMask = tensor(decay, [total], device: device).DetachFromDisposeScope();
        int n = (int)layout.First(s => s.Name == "pos_embed.W_pos").Shape[0];
        CausalMask = full(n, n, float.NegativeInfinity, dtype: ScalarType.Float32, device: device).triu(1).DetachFromDisposeScope();
    }

    internal enum Init
    {
        Normal,
        Zero,
        One,
    }

    /// <summary>A named span of the buffer: its storage shape, initialization and whether weight decay applies.</summary>
    internal sealed record Segment(string Name, long[] Shape, Init Init, bool Decay);

    public long Count { get; }
    public Tensor Values { get; private set; }
    public Tensor Grads { get; private set; }

    /// <summary>bool [Count]: true where weight decay applies.</summary>
    public Tensor DecayMask { get; private set; }

    public Tensor CausalMask { get; private set; }

    /// <summary>A leaf parameter viewing segment <paramref name="name"/> (through <paramref name="view"/>, e.g. a select + permute); its grad views the same span of <see cref="Grads"/>.</summary>
    public Parameter Take(string name, Func<Tensor, Tensor>? view = null)
    {
        var (offset, shape) = _segments[name];
        long n = shape.Aggregate(1L, (a, b) => a * b);
        var values = Values.narrow(0, offset, n).view(shape);
        var grads = Grads.narrow(0, offset, n).view(shape);
        if (view is not null)
        {
            (values, grads) = (view(values), view(grads));
        }

        var parameter = new Parameter(values);
        parameter.grad = grads; // backward accumulates into the flat buffer
        parameter.DetachFromDisposeScope();
        return parameter;
    }

    /// <summary>Moves the buffers; false when they are already there (nothing to re-point).</summary>
    public bool MoveTo(Device device, ScalarType dtype)
    {
        if (Values.device_type == device.type && Values.device_index == device.index && Values.dtype == dtype)
        {
            return false;
        }

        using var guard = no_grad();
        var (values, grads) = (Values.to(dtype, device).DetachFromDisposeScope(), Grads.to(dtype, device).DetachFromDisposeScope());
        var (decay, causal) = (DecayMask.to(device).DetachFromDisposeScope(), CausalMask.to(device).DetachFromDisposeScope());
        Dispose();
        (Values, Grads, DecayMask, CausalMask) = (values, grads, decay, causal);
        return true;
    }

    private static (float[] Values, bool[] Decay) InitialValues(IReadOnlyList<Segment> layout, long total, ulong seed, double std)
    {
        // Our own seeded generator: the same seed gives the same initial weights on every device.
        var rng = new Rng(seed ^ 0x5EED_1A17UL);
        var values = new float[total];
        var decay = new bool[total];
        long k = 0;
        foreach (var segment in layout)
        {
            long n = segment.Shape.Aggregate(1L, (a, b) => a * b);
            for (long i = 0; i < n; i++, k++)
            {
                values[k] = segment.Init switch
                {
                    Init.Normal => (float)(rng.NextGaussian() * std),
                    Init.One => 1f,
                    _ => 0f,
                };
                decay[k] = segment.Decay;
            }
        }

        return (values, decay);
    }

    public void Dispose()
    {
        Values.Dispose();
        Grads.Dispose();
        DecayMask.Dispose();
        CausalMask.Dispose();
    }
}

/// <summary>Activations by hook name, as returned by <see cref="HookedTransformer.RunWithCache"/>.</summary>
public sealed class ActivationCache : IDisposable
{
    private readonly Dictionary<string, Tensor> _activations = new(StringComparer.Ordinal);

    public Tensor this[string name] => _activations.TryGetValue(name, out var t)
        ? t
        : throw new BeliefLensInputException($"hook '{name}': not in the cache; request it in RunWithCache's names.");

    public IReadOnlyCollection<string> Names => _activations.Keys;

    public bool Contains(string name) => _activations.ContainsKey(name);

    internal void Add(string name, Tensor value) => _activations[name] = value;

    public void Dispose()
    {
        foreach (var t in _activations.Values)
        {
            t.Dispose();
        }

        _activations.Clear();
    }
}
