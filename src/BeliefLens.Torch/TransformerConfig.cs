using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Core;
using BeliefLens.Runs;

namespace BeliefLens.Torch;

/// <summary>
/// Architecture of a <see cref="HookedTransformer"/>, named like TransformerLens's HookedTransformerConfig.
/// Valid by construction: get-only properties set by the validating constructor (there is nothing for a <c>with</c>
/// expression to set). JSON uses the same snake_case names as TransformerLens / train_config.json, and errors name
/// the JSON path (<c>model.d_model</c>).
/// </summary>
public sealed record TransformerConfig
{
    public static readonly IReadOnlyList<string> ActivationFunctions = ["relu", "gelu"];

    /// <summary>The model families: today's transformer (the default) and three recurrent networks (<see cref="RecurrentModel"/>).</summary>
    public static readonly IReadOnlyList<string> Architectures = [Transformer, "rnn", "lstm", "gru"];

    /// <summary>Fields a recurrent architecture ignores (it uses n_layers, d_model as the hidden width, n_ctx and d_vocab).</summary>
    public static readonly IReadOnlyList<string> TransformerOnlyFields = ["n_heads", "d_head", "d_mlp", "act_fn", "normalization_type", "attn_only"];

    public const string Transformer = "transformer";

    public TransformerConfig(
        int nLayers, int dModel, int nHeads, int dHead, int dMlp, int nCtx, int dVocab,
        string actFn = "relu", bool layerNorm = true, bool attnOnly = false, string architecture = Transformer)
    {
        if (!Architectures.Contains(architecture))
        {
            throw new BeliefLensInputException($"model.architecture: '{architecture}' is not supported; use one of {string.Join(", ", Architectures)}.");
        }

        bool transformer = architecture == Transformer;
        Require(nLayers >= 1 && nLayers <= 1024, "n_layers", nLayers, "give a whole number from 1 to 1024");
        Require(dModel >= 1 && dModel <= 65536, "d_model", dModel, "give a positive width");
        Require(!transformer || (nHeads >= 1 && nHeads <= dModel * 16), "n_heads", nHeads, "give at least one head");
        Require(!transformer || (dHead >= 1 && dHead <= 65536), "d_head", dHead, "give a positive head width (e.g. d_model / n_heads)");
        Require(!transformer || attnOnly || (dMlp >= 1 && dMlp <= 1 << 20), "d_mlp", dMlp, "give a positive MLP width (e.g. 4 × d_model)");
        Require(nCtx >= 1 && nCtx <= 65536, "n_ctx", nCtx, "give a positive context length");
        Require(dVocab >= 1 && dVocab <= 1 << 20, "d_vocab", dVocab, "give the process's vocabulary size");
        if (transformer && !ActivationFunctions.Contains(actFn))
        {
            throw new BeliefLensInputException($"model.act_fn: '{actFn}' is not supported; use one of {string.Join(", ", ActivationFunctions)}.");
        }

        (NLayers, DModel, NHeads, DHead, DMlp, NCtx, DVocab, ActFn, LayerNorm, AttnOnly, Architecture) =
            (nLayers, dModel, nHeads, dHead, attnOnly ? 0 : dMlp, nCtx, dVocab, actFn, layerNorm, attnOnly, architecture);
    }

    /// <summary>transformer (the default), rnn (tanh), lstm or gru; see <see cref="Architectures"/>.</summary>
    public string Architecture { get; }

    /// <summary>An rnn, lstm or gru: n_layers × d_model hidden units, one-hot input, linear readout.</summary>
    public bool IsRecurrent => Architecture != Transformer;

    /// <summary>The fields this architecture does not use (recorded in config.json); empty for the transformer.</summary>
    public IReadOnlyList<string> IgnoredFields => IsRecurrent ? TransformerOnlyFields : [];

    public int NLayers { get; }
    public int DModel { get; }
    public int NHeads { get; }
    public int DHead { get; }

    /// <summary>0 when <see cref="AttnOnly"/>.</summary>
    public int DMlp { get; }

    public int NCtx { get; }
    public int DVocab { get; }
    public string ActFn { get; }

    /// <summary>Pre-LayerNorm ("LN") when true; no normalization at all when false.</summary>
    public bool LayerNorm { get; }

    public bool AttnOnly { get; }

    /// <summary>The paper's Mess3 model: 4 layers, d_model 64, 1 head of d_head 8, d_mlp 256, n_ctx 10, ReLU, LN.</summary>
    public static TransformerConfig PaperMess3(int dVocab = 3) => new(4, 64, 1, 8, 256, 10, dVocab);

    private static readonly string[] KnownFields =
        ["architecture", "n_layers", "d_model", "n_heads", "d_head", "d_mlp", "n_ctx", "d_vocab", "act_fn", "normalization_type", "attn_only", "ignored_fields"];

    /// <summary>The model section of an experiment; <c>architecture</c> and <c>ignored_fields</c> appear only for a recurrent model.</summary>
    public JsonObject ToJson()
    {
        var json = TransformerFieldsJson();
        if (IsRecurrent)
        {
            json.Insert(0, "architecture", Architecture);
            json["ignored_fields"] = new JsonArray(IgnoredFields.Select(f => (JsonNode)f).ToArray());
        }

        return json;
    }

    private JsonObject TransformerFieldsJson() => new()
    {
        ["n_layers"] = NLayers,
        ["d_model"] = DModel,
        ["n_heads"] = NHeads,
        ["d_head"] = DHead,
        ["d_mlp"] = DMlp,
        ["n_ctx"] = NCtx,
        ["d_vocab"] = DVocab,
        ["act_fn"] = ActFn,
        ["normalization_type"] = LayerNorm ? "LN" : null,
        ["attn_only"] = AttnOnly,
    };

    /// <summary>The model section of a run's config.json and of a checkpoint's sidecar.</summary>
    public ModelConfig ToRecord() => new(NLayers, DModel, NHeads, DHead, DMlp, NCtx, DVocab, ActFn, LayerNorm ? "LN" : null, AttnOnly,
        IsRecurrent ? Architecture : null, IsRecurrent ? IgnoredFields.ToArray() : null);

    /// <summary>
    /// train_config.json for Python: TransformerLens's HookedTransformerConfig fields that describe this architecture
    /// (pre-LN or none, learned absolute positions, causal attention scaled by 1/√d_head, LN eps 1e-5, untied unembedding).
    /// </summary>
    public TransformerLensConfig ToTransformerLens() => new(NLayers, DModel, NCtx, DHead, NHeads, AttnOnly ? null : DMlp, ActFn, DVocab, DVocab,
        LayerNorm ? "LN" : null, AttnOnly, HookedTransformer.LayerNormEps, UseAttnScale: true, AttentionDir: "causal", PositionalEmbeddingType: "standard",
        ModelName: "belieflens");

    /// <summary>A model from a run's record, validated like any other (errors name <c>model.x</c>).</summary>
    public static TransformerConfig FromRecord(ModelConfig record)
    {
        ArgumentNullException.ThrowIfNull(record);
        bool layerNorm = record.NormalizationType switch
        {
            null => false,
            "LN" => true,
            string other => throw new BeliefLensInputException($"model.normalization_type: '{other}' is not supported; use \"LN\" or null (no normalization)."),
        };
        return new TransformerConfig(record.NLayers, record.DModel, record.NHeads, record.DHead, record.DMlp, record.NCtx, record.DVocab,
            record.ActFn, layerNorm, record.AttnOnly, record.Architecture ?? Transformer);
    }

    /// <summary>
    /// Parses a model config. Unknown fields are rejected by name unless <paramref name="ignoreUnknown"/>
    /// (for TransformerLens train_config.json files, which also hold training fields). Missing fields take
    /// <paramref name="defaults"/>' values; d_head defaults to d_model / n_heads, d_mlp to 4 × d_model.
    /// Errors name the field as <c>model.x</c>, followed by " in <paramref name="source"/>" when a source is given.
    /// </summary>
    public static TransformerConfig FromJson(string json, TransformerConfig? defaults = null, bool ignoreUnknown = false, string? source = null)
    {
        string where = source is null ? string.Empty : $" in {source}";
        string whole = source ?? "model";
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(json) as JsonObject ?? throw new BeliefLensInputException($"{whole}: must be a JSON object of model fields.");
        }
        catch (JsonException ex)
        {
            throw new BeliefLensInputException($"{whole}: not valid JSON ({ex.Message.Split('\n')[0]}); fix the file.");
        }

        if (!ignoreUnknown)
        {
            foreach (var (key, _) in obj)
            {
                if (!KnownFields.Contains(key))
                {
                    throw new BeliefLensInputException($"model.{key}: unknown field '{key}'{where}; valid fields are {string.Join(", ", KnownFields)}.");
                }
            }
        }

        int? Int(string name)
        {
            var node = obj[name];
            if (node is null)
            {
                return null;
            }

            if (node is JsonValue v && v.TryGetValue(out long l) && l is >= int.MinValue and <= int.MaxValue)
            {
                return (int)l;
            }

            if (node is JsonValue d && d.TryGetValue(out double x) && x == Math.Floor(x) && Math.Abs(x) < int.MaxValue)
            {
                return (int)x;
            }

            throw new BeliefLensInputException($"model.{name}: must be a whole number, not {node.ToJsonString()}{where}.");
        }

        string architecture = obj["architecture"] is JsonNode arch
            ? (arch is JsonValue archValue && archValue.TryGetValue(out string? archName) ? archName! : throw new BeliefLensInputException($"model.architecture: must be a string such as \"lstm\"{where}; use one of {string.Join(", ", Architectures)}."))
            : defaults?.Architecture ?? Transformer;
        bool recurrent = architecture != Transformer; // ignores the transformer-only fields, so it needs no d_head arithmetic
        int nLayers = Int("n_layers") ?? defaults?.NLayers ?? throw Missing("n_layers", where);
        int dModel = Int("d_model") ?? defaults?.DModel ?? throw Missing("d_model", where);
        int nHeads = Int("n_heads") ?? defaults?.NHeads ?? (recurrent ? 1 : throw Missing("n_heads", where));
        int? dHeadGiven = Int("d_head");
        int dHead;
        if (dHeadGiven is int dh)
        {
            dHead = dh;
        }
        else if (recurrent)
        {
            dHead = defaults?.DHead ?? Math.Max(1, dModel / Math.Max(1, nHeads));
        }
        else if (obj.ContainsKey("d_model") || obj.ContainsKey("n_heads") || defaults is null)
        {
            if (nHeads <= 0 || dModel % nHeads != 0)
            {
                throw new BeliefLensInputException(
                    $"model.n_heads: d_model {dModel} is not divisible by n_heads {nHeads}{where}; give d_head explicitly or change n_heads.");
            }

            dHead = dModel / nHeads;
        }
        else
        {
            dHead = defaults.DHead;
        }

        int dMlp = Int("d_mlp") ?? (obj.ContainsKey("d_model") || defaults is null || defaults.DMlp == 0 ? 4 * dModel : defaults.DMlp);
        int nCtx = Int("n_ctx") ?? defaults?.NCtx ?? throw Missing("n_ctx", where);
        int dVocab = Int("d_vocab") ?? defaults?.DVocab ?? throw Missing("d_vocab", where);
        string actFn = obj["act_fn"] is JsonNode a
            ? (a is JsonValue av && av.TryGetValue(out string? s) ? s! : throw new BeliefLensInputException($"model.act_fn: must be a string such as \"relu\"{where}."))
            : defaults?.ActFn ?? "relu";
        bool layerNorm = defaults?.LayerNorm ?? true;
        if (obj.TryGetPropertyValue("normalization_type", out var norm))
        {
            layerNorm = norm switch
            {
                null => false,
                JsonValue nv when nv.TryGetValue(out string? ns) && ns == "LN" => true,
                JsonValue nv when nv.TryGetValue(out string? ns) && (ns is "none" or "None") => false,
                _ => throw new BeliefLensInputException($"model.normalization_type: must be \"LN\" or null (no normalization), not {norm.ToJsonString()}{where}."),
            };
        }

        bool attnOnly = defaults?.AttnOnly ?? false;
        if (obj["attn_only"] is JsonNode ao)
        {
            attnOnly = ao is JsonValue aov && aov.TryGetValue(out bool b) ? b : throw new BeliefLensInputException($"model.attn_only: must be true or false{where}.");
        }

        return new TransformerConfig(nLayers, dModel, nHeads, dHead, dMlp, nCtx, dVocab, actFn, layerNorm, attnOnly, architecture);
    }

    /// <summary>Reads the model fields of a TransformerLens-style train_config.json, ignoring training fields.</summary>
    public static TransformerConfig FromTrainConfigFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"config: '{path}' does not exist; give the path of a train_config.json.");
        }

        return FromJson(File.ReadAllText(path), ignoreUnknown: true, source: path);
    }

    public static TransformerConfig FromFile(string path, TransformerConfig? defaults = null)
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"model config: '{path}' does not exist; give the path of a model JSON file.");
        }

        return FromJson(File.ReadAllText(path), defaults, source: path);
    }

    private static BeliefLensInputException Missing(string name, string where) =>
        new($"model.{name}: is missing{where}; add it.");

    private static void Require(bool ok, string field, int value, string fix)
    {
        if (!ok)
        {
            throw new BeliefLensInputException($"model.{field}: {value.ToString(CultureInfo.InvariantCulture)} is invalid; {fix}.");
        }
    }
}
