using BeliefLens.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BeliefLens.Torch;

/// <summary>
/// A GPT-style decoder matching TransformerLens's HookedTransformer (pre-LN, learned absolute positions,
/// causal attention with biases and 1/√d_head scaling, LN eps 1e-5, unembedding with bias).
///
/// Shapes: B batch, P positions (≤ n_ctx), d d_model, H n_heads, e d_head, m d_mlp, V d_vocab.
/// All parameters live in one flat buffer (<see cref="FlatParameters"/>) with gradients in a second flat buffer
/// (<see cref="FlatGradients"/>), so an optimizer step is a handful of tensor ops. Q, K and V are fused into one
/// [d, 3·H·e] weight; <see cref="StateDictTransformerLens"/> / <see cref="LoadStateDict"/> convert to and from
/// TransformerLens's names and shapes exactly. Never call <c>.to(device)</c> on this module: build it on the device.
/// </summary>
public sealed class HookedTransformer : nn.Module<Tensor, Tensor>
{
    private const double LayerNormEps = 1e-5;

    private readonly Parameter W_E;     // [V, d]
    private readonly Parameter W_pos;   // [n_ctx, d]
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly Parameter? ln_final_w; // [d]
    private readonly Parameter? ln_final_b; // [d]
    private readonly Parameter W_U;     // [d, V]
    private readonly Parameter b_U;     // [V]

    private readonly Tensor _flat;
    private readonly Tensor _flatGrad;
    private readonly List<(string Name, long[] Shape, Tensor View)> _segments = [];
    private Dictionary<string, Func<Tensor, Tensor>>? _hooks;
    private int? _blockLimit; // set only inside CacheActivations: run this many blocks, then stop (no logits)

    public HookedTransformer(TransformerConfig config, Device? device = null, ulong seed = 0) : base("HookedTransformer")
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Device = device ?? CPU;
        int d = config.DModel, h = config.NHeads, e = config.DHead, m = config.DMlp, v = config.DVocab;

        // Lay out every parameter in one buffer; the layout order is the optimizer-state order.
        var layout = new List<(string Name, long[] Shape, Init Init)>
        {
            ("W_E", [v, d], Init.Normal),
            ("W_pos", [config.NCtx, d], Init.Normal),
        };
        for (int l = 0; l < config.NLayers; l++)
        {
            if (config.LayerNorm)
            {
                layout.Add(($"{l}.ln1_w", [d], Init.One));
                layout.Add(($"{l}.ln1_b", [d], Init.Zero));
            }

            layout.Add(($"{l}.W_QKV", [d, 3 * h * e], Init.Normal));
            layout.Add(($"{l}.b_QKV", [3 * h * e], Init.Zero));
            layout.Add(($"{l}.W_O", [h * e, d], Init.Normal));
            layout.Add(($"{l}.b_O", [d], Init.Zero));
            if (!config.AttnOnly)
            {
                if (config.LayerNorm)
                {
                    layout.Add(($"{l}.ln2_w", [d], Init.One));
                    layout.Add(($"{l}.ln2_b", [d], Init.Zero));
                }

                layout.Add(($"{l}.W_in", [d, m], Init.Normal));
                layout.Add(($"{l}.b_in", [m], Init.Zero));
                layout.Add(($"{l}.W_out", [m, d], Init.Normal));
                layout.Add(($"{l}.b_out", [d], Init.Zero));
            }
        }

        if (config.LayerNorm)
        {
            layout.Add(("ln_final_w", [d], Init.One));
            layout.Add(("ln_final_b", [d], Init.Zero));
        }

        layout.Add(("W_U", [d, v], Init.Normal));
        layout.Add(("b_U", [v], Init.Zero));

        long total = layout.Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b));
        ParameterCount = total;
        var initial = InitialValues(layout, total, seed, InitStd(config));
        _flat = tensor(initial, [total], dtype: float32, device: Device);
        _flatGrad = zeros([total], dtype: float32, device: Device);

        var byName = new Dictionary<string, Parameter>(StringComparer.Ordinal);
        long offset = 0;
        foreach (var (name, shape, _) in layout)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            var view = _flat.narrow(0, offset, n).view(shape);
            var parameter = new Parameter(view);
            parameter.grad = _flatGrad.narrow(0, offset, n).view(shape); // backward accumulates into the flat buffer
            _segments.Add((name, shape, parameter));
            byName[name] = parameter;
            offset += n;
        }

        W_E = byName["W_E"];
        W_pos = byName["W_pos"];
        ln_final_w = config.LayerNorm ? byName["ln_final_w"] : null;
        ln_final_b = config.LayerNorm ? byName["ln_final_b"] : null;
        W_U = byName["W_U"];
        b_U = byName["b_U"];
        blocks = new ModuleList<TransformerBlock>(
            Enumerable.Range(0, config.NLayers).Select(l => new TransformerBlock(this, l, byName)).ToArray());

        // Additive causal mask, 0 on and below the diagonal, −∞ above: [n_ctx, n_ctx].
        _causalMask = full(config.NCtx, config.NCtx, float.NegativeInfinity, dtype: float32, device: Device).triu(1);
        RegisterComponents();
    }

    private enum Init
    {
        Normal,
        Zero,
        One,
    }

    private readonly Tensor _causalMask;

    public TransformerConfig Config { get; }
    public Device Device { get; }
    public long ParameterCount { get; }

    /// <summary>All parameters, flat [ParameterCount]. Optimizers update it in place.</summary>
    public Tensor FlatParameters => _flat;

    /// <summary>All gradients, flat [ParameterCount]; backward accumulates here. Zero it with <see cref="ZeroGrad"/>.</summary>
    public Tensor FlatGradients => _flatGrad;

    /// <summary>
    /// Use the fused scaled_dot_product_attention kernel when no attention-pattern hook is active. Off by default:
    /// at the paper's size (P = 10, d_head = 8) the explicit softmax path measured as fast or faster on CPU.
    /// </summary>
    public bool UseFusedAttention { get; set; }

    public void ZeroGrad() => _flatGrad.zero_();

    /// <summary>TransformerLens's initializer range for the GPT-2 init: 0.8 / √d_model.</summary>
    public static double InitStd(TransformerConfig config) => 0.8 / Math.Sqrt(config.DModel);

    private static float[] InitialValues(List<(string Name, long[] Shape, Init Init)> layout, long total, ulong seed, double std)
    {
        // Our own seeded generator: the same seed gives the same initial weights on every device.
        var rng = new Rng(seed ^ 0x5EED_1A17UL);
        var values = new float[total];
        long k = 0;
        foreach (var (_, shape, init) in layout)
        {
            long n = shape.Aggregate(1L, (a, b) => a * b);
            for (long i = 0; i < n; i++, k++)
            {
                values[k] = init switch
                {
                    Init.Normal => (float)(rng.NextGaussian() * std),
                    Init.One => 1f,
                    _ => 0f,
                };
            }
        }

        return values;
    }

    // ---------------------------------------------------------------- hook points

    /// <summary>Every hook point name, in TransformerLens spelling, in forward order.</summary>
    public IReadOnlyList<string> HookNames => HookNamesFor(Config);

    /// <summary>The hook point names a model of <paramref name="config"/> has, without building it (to check sites up front).</summary>
    public static IReadOnlyList<string> HookNamesFor(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var names = new List<string> { "hook_embed", "hook_pos_embed" };
        for (int l = 0; l < config.NLayers; l++)
        {
            names.Add($"blocks.{l}.hook_resid_pre");
            names.Add($"blocks.{l}.attn.hook_pattern");
            names.Add($"blocks.{l}.hook_attn_out");
            if (!config.AttnOnly)
            {
                names.Add($"blocks.{l}.hook_resid_mid");
                names.Add($"blocks.{l}.hook_mlp_out");
            }

            names.Add($"blocks.{l}.hook_resid_post");
        }

        if (config.LayerNorm)
        {
            names.Add("ln_final.hook_normalized");
        }

        return names;
    }

    /// <summary>Number of hooks registered right now; 0 outside <see cref="RunWithHooks"/>/<see cref="RunWithCache"/>.</summary>
    public int ActiveHookCount => _hooks?.Count ?? 0;

    internal bool HasHook(string name) => _hooks is not null && _hooks.ContainsKey(name);

    /// <summary>An identity site: returns x, or what the registered hook returns for it.</summary>
    internal Tensor Hook(string name, Tensor x) =>
        _hooks is not null && _hooks.TryGetValue(name, out var hook) ? hook(x) : x;

    /// <summary>
    /// Runs the model with hooks registered only for this call. Each hook gets the activation in TransformerLens
    /// shape ([B,P,d], or [B,H,P,P] for patterns) and returns it or a replacement.
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

        if (_hooks is not null)
        {
            throw new InvalidOperationException("Hooks are already active; nested hooked runs are not supported.");
        }

        _hooks = new Dictionary<string, Func<Tensor, Tensor>>(hooks, StringComparer.Ordinal);
        try
        {
            return forward(tokens);
        }
        finally
        {
            _hooks = null;
        }
    }

    /// <summary>
    /// Logits [B,P,V] plus detached copies of the named activations. Names default to every hook point.
    /// Dispose the returned cache (or let the caller's dispose scope collect it).
    /// </summary>
    public (Tensor Logits, ActivationCache Cache) RunWithCache(Tensor tokens, IEnumerable<string>? names = null)
    {
        var cache = new ActivationCache();
        var wanted = (names ?? HookNames).ToDictionary(
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
            var logits = RunWithHooks(tokens, wanted);
            return (logits, cache);
        }
    }

    /// <summary>
    /// Only the named activations (detached copies), computing no more of the model than they need: blocks after the
    /// last block that holds a requested hook are skipped, and so are ln_final and the unembedding unless
    /// ln_final.hook_normalized is requested. The activations equal those of <see cref="RunWithCache"/> (a causal
    /// forward pass does not look ahead). Dispose the returned cache.
    /// </summary>
    public ActivationCache CacheActivations(Tensor tokens, IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        int needed = names.Select(BlocksNeededFor).DefaultIfEmpty(Config.NLayers).Max();
        _blockLimit = needed;
        try
        {
            var (output, cache) = RunWithCache(tokens, names);
            output.Dispose();
            return cache;
        }
        finally
        {
            _blockLimit = null;
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

        int d = Config.DModel;
        var embed = Hook("hook_embed", W_E.index_select(0, tokens.reshape(-1)).view(batch, positions, d)); // [B,P,d]
        var posEmbed = Hook("hook_pos_embed", W_pos.narrow(0, 0, positions).unsqueeze(0).expand(batch, positions, d)); // [B,P,d]
        var residual = (embed + posEmbed).view(batch * positions, d); // [B·P, d]
        var mask = _causalMask.narrow(0, 0, positions).narrow(1, 0, positions); // [P,P]
        int blocksToRun = _blockLimit ?? Config.NLayers;
        for (int l = 0; l < blocksToRun; l++)
        {
            residual = blocks[l].Forward(residual, batch, positions, mask);
        }

        if (blocksToRun < Config.NLayers)
        {
            return residual.MoveToOuterDisposeScope(); // truncated run for CacheActivations: the caller discards it
        }

        var normalized = LayerNormHooked("ln_final.hook_normalized", residual, ln_final_w, ln_final_b, batch, positions); // [B·P, d]
        var logits = addmm(b_U, normalized, W_U, 1, 1); // [B·P, V]
        return logits.view(batch, positions, Config.DVocab).MoveToOuterDisposeScope();
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

    /// <summary>
    /// LayerNorm (eps 1e-5) over the last dim of x [B·P, d]. Without a hook on <paramref name="hookName"/> it is one
    /// fused op; with one, the hook sees the normalized value before the affine step, as in TransformerLens.
    /// Identity when the model has no normalization.
    /// </summary>
    internal Tensor LayerNormHooked(string hookName, Tensor x, Tensor? weight, Tensor? bias, long batch, long positions)
    {
        if (!Config.LayerNorm)
        {
            return x;
        }

        long[] shape = [Config.DModel];
        if (!HasHook(hookName))
        {
            return F.layer_norm(x, shape, weight, bias, LayerNormEps);
        }

        var normalized = Hook(hookName, F.layer_norm(x, shape, null, null, LayerNormEps).view(batch, positions, Config.DModel));
        return normalized.reshape(batch * positions, Config.DModel) * weight! + bias!;
    }

    internal Tensor Activation(Tensor x) => Config.ActFn == "gelu" ? F.gelu(x) : F.relu(x);

    // ---------------------------------------------------------------- state dict (TransformerLens names)

    /// <summary>
    /// The parameters under TransformerLens names and shapes (copies, on the model's device), plus the
    /// attn.mask / attn.IGNORE buffers TransformerLens keeps, so Python's HookedTransformer loads it strictly.
    /// </summary>
    public Dictionary<string, Tensor> StateDictTransformerLens(bool includeBuffers = true)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        using var guard = no_grad();
        int d = Config.DModel, h = Config.NHeads, e = Config.DHead;
        result["embed.W_E"] = W_E.detach().clone();
        result["pos_embed.W_pos"] = W_pos.detach().clone();
        for (int l = 0; l < Config.NLayers; l++)
        {
            var block = blocks[l];
            string p = $"blocks.{l}.";
            if (Config.LayerNorm)
            {
                result[p + "ln1.w"] = block.Ln1W!.detach().clone();
                result[p + "ln1.b"] = block.Ln1B!.detach().clone();
            }

            // W_QKV [d, 3·H·e] → W_Q/W_K/W_V [H, d, e]; b_QKV [3·H·e] → b_Q/b_K/b_V [H, e].
            var w = block.WQkv.detach().view(d, 3, h, e);
            var b = block.BQkv.detach().view(3, h, e);
            string[] qkv = ["Q", "K", "V"];
            for (int k = 0; k < 3; k++)
            {
                result[p + $"attn.W_{qkv[k]}"] = w.select(1, k).permute(1, 0, 2).contiguous().clone();
                result[p + $"attn.b_{qkv[k]}"] = b.select(0, k).contiguous().clone();
            }

            result[p + "attn.W_O"] = block.WO.detach().view(h, e, d).clone(); // [H, e, d]
            result[p + "attn.b_O"] = block.BO.detach().clone();
            if (includeBuffers)
            {
                result[p + "attn.mask"] = ones(Config.NCtx, Config.NCtx, dtype: @bool, device: Device).tril();
                result[p + "attn.IGNORE"] = tensor(float.NegativeInfinity, dtype: float32, device: Device);
            }

            if (!Config.AttnOnly)
            {
                if (Config.LayerNorm)
                {
                    result[p + "ln2.w"] = block.Ln2W!.detach().clone();
                    result[p + "ln2.b"] = block.Ln2B!.detach().clone();
                }

                result[p + "mlp.W_in"] = block.WIn!.detach().clone();
                result[p + "mlp.b_in"] = block.BIn!.detach().clone();
                result[p + "mlp.W_out"] = block.WOut!.detach().clone();
                result[p + "mlp.b_out"] = block.BOut!.detach().clone();
            }
        }

        if (Config.LayerNorm)
        {
            result["ln_final.w"] = ln_final_w!.detach().clone();
            result["ln_final.b"] = ln_final_b!.detach().clone();
        }

        result["unembed.W_U"] = W_U.detach().clone();
        result["unembed.b_U"] = b_U.detach().clone();
        return result;
    }

    /// <summary>
    /// Loads a TransformerLens-named state dict (any float dtype, any device). Every parameter must be present with
    /// its exact shape; the attn.mask / attn.IGNORE buffers are accepted and ignored; any other key is an error.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, string source = "state dict")
    {
        ArgumentNullException.ThrowIfNull(state);
        using var scope = NewDisposeScope();
        var expected = StateDictTransformerLens(includeBuffers: false);
        foreach (string key in state.Keys)
        {
            if (!expected.ContainsKey(key) && !key.EndsWith(".attn.mask", StringComparison.Ordinal) && !key.EndsWith(".attn.IGNORE", StringComparison.Ordinal))
            {
                throw new BeliefLensInputException($"{source}: unexpected key '{key}'; the checkpoint does not match this model config (check n_layers, attn_only, normalization_type).");
            }
        }

        foreach (var (key, template) in expected)
        {
            if (!state.TryGetValue(key, out var value))
            {
                throw new BeliefLensInputException($"{source}: key '{key}' is missing; the checkpoint does not match this model config.");
            }

            if (!value.shape.SequenceEqual(template.shape))
            {
                throw new BeliefLensInputException(
                    $"{source}: '{key}' has shape [{string.Join(",", value.shape)}] but the model config needs [{string.Join(",", template.shape)}]; fix the config.");
            }

            if (!value.is_floating_point())
            {
                throw new BeliefLensInputException($"{source}: '{key}' is not a floating-point tensor.");
            }
        }

        int d = Config.DModel, h = Config.NHeads, e = Config.DHead;
        Tensor Get(string key) => state[key].to(float32, Device);
        using var guard = no_grad();
        W_E.copy_(Get("embed.W_E"));
        W_pos.copy_(Get("pos_embed.W_pos"));
        for (int l = 0; l < Config.NLayers; l++)
        {
            var block = blocks[l];
            string p = $"blocks.{l}.";
            if (Config.LayerNorm)
            {
                block.Ln1W!.copy_(Get(p + "ln1.w"));
                block.Ln1B!.copy_(Get(p + "ln1.b"));
            }

            var w = block.WQkv.view(d, 3, h, e);
            var b = block.BQkv.view(3, h, e);
            string[] qkv = ["Q", "K", "V"];
            for (int k = 0; k < 3; k++)
            {
                w.select(1, k).copy_(Get(p + $"attn.W_{qkv[k]}").permute(1, 0, 2)); // [H,d,e] → [d,H,e]
                b.select(0, k).copy_(Get(p + $"attn.b_{qkv[k]}"));
            }

            block.WO.view(h, e, d).copy_(Get(p + "attn.W_O"));
            block.BO.copy_(Get(p + "attn.b_O"));
            if (!Config.AttnOnly)
            {
                if (Config.LayerNorm)
                {
                    block.Ln2W!.copy_(Get(p + "ln2.w"));
                    block.Ln2B!.copy_(Get(p + "ln2.b"));
                }

                block.WIn!.copy_(Get(p + "mlp.W_in"));
                block.BIn!.copy_(Get(p + "mlp.b_in"));
                block.WOut!.copy_(Get(p + "mlp.W_out"));
                block.BOut!.copy_(Get(p + "mlp.b_out"));
            }
        }

        if (Config.LayerNorm)
        {
            ln_final_w!.copy_(Get("ln_final.w"));
            ln_final_b!.copy_(Get("ln_final.b"));
        }

        W_U.copy_(Get("unembed.W_U"));
        b_U.copy_(Get("unembed.b_U"));
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _flat.Dispose();
            _flatGrad.Dispose();
            _causalMask.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>One pre-LN block: x + attn(ln1(x)), then + mlp(ln2(·)). Works on the residual as [B·P, d].</summary>
    internal sealed class TransformerBlock : nn.Module
    {
        private readonly HookedTransformer _model;
        private readonly string _hookLn1, _hookLn2, _hookResidPre, _hookPattern, _hookAttnOut, _hookResidMid, _hookMlpOut, _hookResidPost;

        public TransformerBlock(HookedTransformer model, int layer, Dictionary<string, Parameter> p) : base($"blocks.{layer}")
        {
            _model = model;
            string l = $"{layer}.";
            Ln1W = p.GetValueOrDefault(l + "ln1_w");
            Ln1B = p.GetValueOrDefault(l + "ln1_b");
            WQkv = p[l + "W_QKV"];
            BQkv = p[l + "b_QKV"];
            WO = p[l + "W_O"];
            BO = p[l + "b_O"];
            Ln2W = p.GetValueOrDefault(l + "ln2_w");
            Ln2B = p.GetValueOrDefault(l + "ln2_b");
            WIn = p.GetValueOrDefault(l + "W_in");
            BIn = p.GetValueOrDefault(l + "b_in");
            WOut = p.GetValueOrDefault(l + "W_out");
            BOut = p.GetValueOrDefault(l + "b_out");
            string h = $"blocks.{layer}.";
            (_hookLn1, _hookLn2) = (h + "ln1.hook_normalized", h + "ln2.hook_normalized");
            (_hookResidPre, _hookPattern, _hookAttnOut, _hookResidMid, _hookMlpOut, _hookResidPost) =
                (h + "hook_resid_pre", h + "attn.hook_pattern", h + "hook_attn_out", h + "hook_resid_mid", h + "hook_mlp_out", h + "hook_resid_post");
            RegisterComponents();
        }

        public Parameter? Ln1W { get; }
        public Parameter? Ln1B { get; }
        public Parameter WQkv { get; }  // [d, 3·H·e], columns ordered (q|k|v, head, e)
        public Parameter BQkv { get; }  // [3·H·e]
        public Parameter WO { get; }    // [H·e, d]
        public Parameter BO { get; }    // [d]
        public Parameter? Ln2W { get; }
        public Parameter? Ln2B { get; }
        public Parameter? WIn { get; }  // [d, m]
        public Parameter? BIn { get; }  // [m]
        public Parameter? WOut { get; } // [m, d]
        public Parameter? BOut { get; } // [d]

        /// <summary>residual [B·P, d] → [B·P, d].</summary>
        public Tensor Forward(Tensor residual, long batch, long positions, Tensor mask)
        {
            var cfg = _model.Config;
            int d = cfg.DModel, h = cfg.NHeads, e = cfg.DHead;
            residual = HookResidual(_hookResidPre, residual, batch, positions);

            // Attention: one fused projection, split into q, k, v by a single view + permute.
            var x = _model.LayerNormHooked(_hookLn1, residual, Ln1W, Ln1B, batch, positions);
            var qkv = addmm(BQkv, x, WQkv, 1, 1).view(batch, positions, 3, h, e).permute(2, 0, 3, 1, 4); // [3, B, H, P, e]
            var (q, k, v) = (qkv[0], qkv[1], qkv[2]); // each [B, H, P, e]
            Tensor z; // [B, H, P, e]
            if (_model.UseFusedAttention && !_model.HasHook(_hookPattern))
            {
                z = F.scaled_dot_product_attention(q, k, v, is_casual: true);
            }
            else
            {
                var scores = matmul(q, k.transpose(-1, -2)) * (1.0 / Math.Sqrt(e)) + mask; // [B, H, P, P]
                var pattern = _model.Hook(_hookPattern, scores.softmax(-1)); // [B, H, P, P]
                z = matmul(pattern, v);
            }

            var attnOut = addmm(BO, z.transpose(1, 2).reshape(batch * positions, h * e), WO, 1, 1); // [B·P, d]
            attnOut = HookResidual(_hookAttnOut, attnOut, batch, positions);
            if (cfg.AttnOnly)
            {
                return HookResidual(_hookResidPost, residual + attnOut, batch, positions);
            }

            var mid = HookResidual(_hookResidMid, residual + attnOut, batch, positions);

            // MLP: [B·P, d] → [B·P, m] → [B·P, d].
            var y = _model.LayerNormHooked(_hookLn2, mid, Ln2W, Ln2B, batch, positions);
            var mlpOut = addmm(BOut!, _model.Activation(addmm(BIn!, y, WIn!, 1, 1)), WOut!, 1, 1);
            mlpOut = HookResidual(_hookMlpOut, mlpOut, batch, positions);
            return HookResidual(_hookResidPost, mid + mlpOut, batch, positions);
        }

        /// <summary>Hooks see residual-stream tensors as [B, P, d], like TransformerLens.</summary>
        private Tensor HookResidual(string name, Tensor x, long batch, long positions) =>
            _model.HasHook(name)
                ? _model.Hook(name, x.view(batch, positions, x.shape[1])).reshape(batch * positions, x.shape[1])
                : x;
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
