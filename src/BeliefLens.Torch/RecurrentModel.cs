using BeliefLens.Core;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace BeliefLens.Torch;

#pragma warning disable SA1300, IDE1006 // fields carry the state-dict module names (layers, readout)

/// <summary>
/// A unidirectional recurrent network: one-hot tokens → n_layers recurrent layers of d_model hidden units (rnn with
/// tanh, lstm or gru; TorchSharp's nn.RNN / nn.LSTM / nn.GRU, one single-layer module per layer so each layer's hidden
/// sequence is a hook point) → a linear readout to logits. No embedding, no dropout; the initial state is zero.
///
/// Shapes: B batch, P positions (≤ n_ctx), V d_vocab, H d_model (hidden width), G gates (rnn 1, gru 3, lstm 4).
///
/// Hook points: <c>hook_input</c> [B,P,V] (the one-hot input) and <c>layers.{l}.hook_hidden</c> [B,P,H] (layer l's
/// hidden state h_t at every position; a hook that replaces it changes what the next layer and the readout see).
///
/// Checkpoints use PyTorch's multi-layer names: <c>rnn.weight_ih_l{l}</c> [G·H, V or H], <c>rnn.weight_hh_l{l}</c>
/// [G·H, H], <c>rnn.bias_ih_l{l}</c>, <c>rnn.bias_hh_l{l}</c> [G·H], <c>readout.weight</c> [V, H], <c>readout.bias</c>
/// [V], so <c>torch.nn.LSTM(V, H, L, batch_first=True)</c> (or GRU, RNN) loads the rnn.* keys with the prefix stripped.
///
/// Storage: as in <see cref="HookedTransformer"/>, every parameter is re-pointed at a span of one flat buffer and its
/// gradient at a span of a second, so the optimizer steps it with a handful of tensor ops. Weights start uniform in
/// ±1/√H (PyTorch's default for these modules) from our own seeded generator, the same on every device.
/// </summary>
public sealed class RecurrentModel : nn.Module<Tensor, Tensor>, ISequenceModel
{
    public const string InputHook = "hook_input";

    private static readonly string[] LayerParameters = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];

    private readonly ModuleList<nn.Module> layers;
    private readonly Linear readout;
    private readonly Tensor _values;
    private readonly Tensor _grads;
    private readonly Tensor _decayMask;
    private readonly string[] _hiddenHooks;
    private readonly List<(string Key, Parameter Parameter)> _checkpointParameters = [];
    private Dictionary<string, Func<Tensor, Tensor>>? _hooks;
    private int? _layerLimit;

    public RecurrentModel(TransformerConfig config, Device? device = null, ulong seed = 0) : base("RecurrentModel")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.IsRecurrent)
        {
            throw new ArgumentException($"architecture '{config.Architecture}' is not recurrent; build a HookedTransformer.", nameof(config));
        }

        Config = config;
        var target = device ?? CPU;
        int v = config.DVocab, h = config.DModel;
        layers = new ModuleList<nn.Module>(Enumerable.Range(0, config.NLayers).Select(l => Layer(config.Architecture, l == 0 ? v : h, h, target)).ToArray());
        readout = nn.Linear(h, v, hasBias: true, device: target);
        RegisterComponents();
        _hiddenHooks = Enumerable.Range(0, config.NLayers).Select(HiddenHook).ToArray();

        // The checkpoint's key order is the flat buffer's layout order (and the init order).
        for (int l = 0; l < config.NLayers; l++)
        {
            var own = layers[l].named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
            foreach (string name in LayerParameters)
            {
                _checkpointParameters.Add(($"rnn.{name}_l{l}", own[name + "_l0"]));
            }
        }

        _checkpointParameters.Add(("readout.weight", readout.weight!));
        _checkpointParameters.Add(("readout.bias", readout.bias!));

        long total = _checkpointParameters.Sum(p => p.Parameter.numel());
        ParameterCount = total;
        var initial = new float[total];
        var decay = new bool[total];
        var rng = new Rng(seed ^ 0x2EC0_77E5UL);
        double bound = 1.0 / Math.Sqrt(h);
        long k = 0;
        foreach (var (key, parameter) in _checkpointParameters)
        {
            bool isWeight = key.Contains("weight", StringComparison.Ordinal);
            for (long i = 0; i < parameter.numel(); i++, k++)
            {
                initial[k] = (float)(((2 * rng.NextDouble()) - 1) * bound);
                decay[k] = isWeight;
            }
        }

        _values = tensor(initial, [total], dtype: ScalarType.Float32, device: target).DetachFromDisposeScope();
        _grads = zeros([total], dtype: ScalarType.Float32, device: target).DetachFromDisposeScope();
        _decayMask = tensor(decay, [total], device: target).DetachFromDisposeScope();
        using (no_grad())
        {
            long offset = 0;
            foreach (var (_, parameter) in _checkpointParameters)
            {
                long n = parameter.numel();
                long[] shape = parameter.shape;
                parameter.set_(_values.narrow(0, offset, n).view(shape)); // the module's own tensor now lives in the flat buffer
                parameter.grad = _grads.narrow(0, offset, n).view(shape); // backward accumulates into the flat gradient buffer
                offset += n;
            }
        }
    }

    public TransformerConfig Config { get; }

    public Device Device => _values.device;

    public long ParameterCount { get; }

    public Tensor FlatParameters => _values;

    public Tensor FlatGradients => _grads;

    /// <summary>Decay on the weight matrices (weight_ih, weight_hh, readout.weight), never on biases.</summary>
    public Tensor DecayMask => _decayMask;

    public IReadOnlyList<string> HookNames => HookNamesFor(Config);

    /// <summary>The hook of layer <paramref name="layer"/>'s hidden sequence [B,P,H].</summary>
    public static string HiddenHook(int layer) => $"layers.{layer}.hook_hidden";

    /// <summary><c>hook_input</c>, then <c>layers.{l}.hook_hidden</c> for each layer.</summary>
    public static IReadOnlyList<string> HookNamesFor(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return [InputHook, .. Enumerable.Range(0, config.NLayers).Select(HiddenHook)];
    }

    public void ZeroGrad() => _grads.zero_();

    /// <summary>tokens [B,P] int64 → logits [B,P,V].</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        long positions = tokens.shape[1];
        if (positions > Config.NCtx)
        {
            throw new BeliefLensInputException($"tokens: {positions} positions exceed n_ctx {Config.NCtx}; give at most n_ctx tokens.");
        }

        var x = Hook(InputHook, F.one_hot(tokens, Config.DVocab).to(_values.dtype)); // [B,P,V]
        int layersToRun = _layerLimit ?? Config.NLayers;
        for (int l = 0; l < layersToRun; l++)
        {
            x = Hook(_hiddenHooks[l], RunLayer(layers[l], x)); // [B,P,H]
        }

        if (layersToRun < Config.NLayers)
        {
            return x.MoveToOuterDisposeScope(); // truncated run for CacheActivations: the caller discards it
        }

        return readout.forward(x).MoveToOuterDisposeScope(); // [B,P,V]
    }

    /// <summary>One single-layer module over the whole sequence, from a zero state: [B,P,in] → [B,P,H].</summary>
    private static Tensor RunLayer(nn.Module layer, Tensor x) => layer switch
    {
        LSTM lstm => lstm.call(x, null).Item1,
        GRU gru => gru.call(x, null).Item1,
        RNN rnn => rnn.call(x, null).Item1,
        _ => throw new InvalidOperationException($"unexpected layer module {layer.GetType().Name}."),
    };

    private static nn.Module Layer(string architecture, int input, int hidden, Device device) => architecture switch
    {
        "lstm" => nn.LSTM(input, hidden, numLayers: 1, bias: true, batchFirst: true, device: device),
        "gru" => nn.GRU(input, hidden, numLayers: 1, bias: true, batchFirst: true, device: device),
        "rnn" => nn.RNN(input, hidden, numLayers: 1, bias: true, batchFirst: true, device: device), // tanh, the default nonlinearity
        _ => throw new ArgumentException($"architecture '{architecture}' is not recurrent.", nameof(architecture)),
    };

    public Tensor NextTokenLoss(Tensor sequences)
    {
        using var scope = NewDisposeScope();
        long positions = sequences.shape[1] - 1;
        var logits = forward(sequences.narrow(1, 0, positions)); // [B,P,V]
        var targets = sequences.narrow(1, 1, positions); // [B,P]
        return F.cross_entropy(logits.view(-1, Config.DVocab), targets.reshape(-1)).MoveToOuterDisposeScope();
    }

    // ---------------------------------------------------------------- hooks

    private Tensor Hook(string name, Tensor x) => _hooks is not null && _hooks.TryGetValue(name, out var hook) ? hook(x) : x;

    public Tensor RunWithHooks(Tensor tokens, IReadOnlyDictionary<string, Func<Tensor, Tensor>> hooks)
    {
        ArgumentNullException.ThrowIfNull(hooks);
        var valid = HookNames;
        foreach (string name in hooks.Keys)
        {
            if (!valid.Contains(name))
            {
                throw new BeliefLensInputException($"hook '{name}': no such hook point; valid names are {string.Join(", ", valid)}.");
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

    public (Tensor Logits, ActivationCache Cache) RunWithCache(Tensor tokens, IEnumerable<string>? names = null) =>
        SequenceModels.RunCaching(this, tokens, names);

    /// <summary>Only the named activations: layers after the last requested one, and the readout, are skipped. Dispose the cache.</summary>
    public ActivationCache CacheActivations(Tensor tokens, IReadOnlyCollection<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _layerLimit = names.Select(n => n == InputHook ? 0 : Array.IndexOf(_hiddenHooks, n) + 1).DefaultIfEmpty(Config.NLayers).Max();
        try
        {
            var (output, cache) = RunWithCache(tokens, names);
            output.Dispose();
            return cache;
        }
        finally
        {
            _layerLimit = null;
        }
    }

    // ---------------------------------------------------------------- state dict (PyTorch's multi-layer names)

    public Dictionary<string, Tensor> CheckpointStateDict()
    {
        using var guard = no_grad();
        return _checkpointParameters.ToDictionary(p => p.Key, p => p.Parameter.detach().contiguous().clone(), StringComparer.Ordinal);
    }

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, string source = "state dict") =>
        StateDicts.CopyInto(state, _checkpointParameters.ToDictionary(p => p.Key, p => (Tensor)p.Parameter, StringComparer.Ordinal), source,
            $"the checkpoint does not match this {Config.Architecture} model (check model.architecture and n_layers).",
            "fix model.architecture, d_model or d_vocab.");

    // ---------------------------------------------------------------- device moves

    // Built on its device: moving would detach the parameters from the flat buffers the optimizer steps.
    protected override nn.Module _to(Device device, ScalarType dtype, bool non_blocking) => RefuseMove(device.type, device.index, dtype);

    protected override nn.Module _to(DeviceType deviceType, int deviceIndex, bool non_blocking) => RefuseMove(deviceType, deviceIndex, _values.dtype);

    protected override nn.Module _to(ScalarType dtype, bool non_blocking) => RefuseMove(_values.device_type, _values.device_index, dtype);

    private RecurrentModel RefuseMove(DeviceType type, int index, ScalarType dtype) =>
        _values.device_type == type && (_values.device_index == index || index < 0) && _values.dtype == dtype
            ? this
            : throw new NotSupportedException("A RecurrentModel stays where it was built; build it on the target device (SequenceModels.Create(config, device)).");

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            foreach (var (_, parameter) in _checkpointParameters)
            {
                parameter.Dispose(); // wrappers named_parameters() handed out; disposing twice is a no-op
            }

            _values.Dispose();
            _grads.Dispose();
            _decayMask.Dispose();
        }
    }
}
