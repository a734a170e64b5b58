using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Core;
using BeliefLens.Runs;
using BeliefLens.Torch;

namespace BeliefLens.Cli.Run;

/// <summary>How the run stage probes the checkpoints.</summary>
public sealed record ProbeSettings
{
    public static readonly IReadOnlyList<string> Weightings = ["paper", "prob"];

    public static readonly IReadOnlyList<string> Protocols = ["paper", "quantum"];

    public ProbeSettings(IReadOnlyList<string> sites, bool concat = true, string weighting = "paper", double fitFraction = 0.2, int maxSequences = 131_072, int emergencePanels = 8, ulong seed = 0,
        string protocol = "paper", int markovOrder = 3, int randomInitNetworks = 10, long randomInitSeed = 1000)
    {
        if (!Protocols.Contains(protocol))
        {
            throw new BeliefLensInputException($"probe.protocol: '{protocol}' is not known; use paper or quantum.");
        }

        if (markovOrder is < 1 or > 8)
        {
            throw new BeliefLensInputException($"probe.markov_order: {markovOrder} must lie in [1, 8] (the quantum paper uses 3).");
        }

        if (randomInitNetworks is < 1 or > 100)
        {
            throw new BeliefLensInputException($"probe.random_init_networks: {randomInitNetworks} must lie in [1, 100] (the quantum paper uses 10).");
        }

        if (randomInitSeed < 0)
        {
            throw new BeliefLensInputException("probe.random_init_seed: must be >= 0.");
        }

        (Protocol, MarkovOrder, RandomInitNetworks, RandomInitSeed) = (protocol, markovOrder, randomInitNetworks, randomInitSeed);
        if (sites.Count == 0)
        {
            throw new BeliefLensInputException("probe.sites: name at least one hook site, e.g. [\"blocks.3.hook_resid_post\"].");
        }

        if (!Weightings.Contains(weighting))
        {
            throw new BeliefLensInputException($"probe.weighting: '{weighting}' is not known; use paper or prob.");
        }

        if (!(fitFraction is > 0 and < 1))
        {
            throw new BeliefLensInputException("probe.fit_fraction: must lie strictly between 0 and 1 (the paper fits on 0.2).");
        }

        if (maxSequences < 10)
        {
            throw new BeliefLensInputException("probe.max_sequences: must be at least 10.");
        }

        if (emergencePanels is < 1 or > 12)
        {
            throw new BeliefLensInputException("probe.emergence_panels: must lie in [1, 12].");
        }

        (Sites, Concat, Weighting, FitFraction, MaxSequences, EmergencePanels, Seed) = (sites.ToArray(), concat, weighting, fitFraction, maxSequences, emergencePanels, seed);
    }

    public IReadOnlyList<string> Sites { get; }
    public bool Concat { get; }
    public string Weighting { get; }
    public double FitFraction { get; }
    public int MaxSequences { get; }
    public int EmergencePanels { get; }
    public ulong Seed { get; }

    /// <summary>"paper" (the belief-geometry paper's probes) or "quantum" (also the quantum paper's protocol, quantum/).</summary>
    public string Protocol { get; }

    /// <summary>Order M of the Markov approximation the quantum protocol probes as a control.</summary>
    public int MarkovOrder { get; }

    /// <summary>Random-init control networks of the quantum protocol, seeded RandomInitSeed, RandomInitSeed+1, ….</summary>
    public int RandomInitNetworks { get; }

    public long RandomInitSeed { get; }

    public bool IsQuantum => Protocol == "quantum";

    /// <summary>The seeds of the random-init control networks.</summary>
    public IReadOnlyList<long> RandomInitSeeds => Enumerable.Range(0, RandomInitNetworks).Select(i => RandomInitSeed + i).ToArray();

    /// <summary>Value equality, sites compared element by element (a record alone would compare the list by reference).</summary>
    public bool Equals(ProbeSettings? other) =>
        other is not null && Sites.SequenceEqual(other.Sites, StringComparer.Ordinal)
        && (Concat, Weighting, FitFraction, MaxSequences, EmergencePanels, Seed) == (other.Concat, other.Weighting, other.FitFraction, other.MaxSequences, other.EmergencePanels, other.Seed)
        && (Protocol, MarkovOrder, RandomInitNetworks, RandomInitSeed) == (other.Protocol, other.MarkovOrder, other.RandomInitNetworks, other.RandomInitSeed);

    public override int GetHashCode() => HashCode.Combine(string.Join('\n', Sites), Concat, Weighting, FitFraction, MaxSequences, EmergencePanels, Seed, Protocol);

    public JsonObject ToJson()
    {
        var json = PaperJson();
        if (IsQuantum)
        {
            json["protocol"] = Protocol;
            json["markov_order"] = MarkovOrder;
            json["random_init_networks"] = RandomInitNetworks;
            json["random_init_seed"] = RandomInitSeed;
        }

        return json;
    }

    private JsonObject PaperJson() => new()
    {
        ["sites"] = new JsonArray(Sites.Select(s => (JsonNode)s).ToArray()),
        ["concat"] = Concat,
        ["weighting"] = Weighting,
        ["fit_fraction"] = FitFraction,
        ["max_sequences"] = MaxSequences,
        ["emergence_panels"] = EmergencePanels,
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The probe section of a run's config.json (the quantum fields only for the quantum protocol, so paper runs keep their shape).</summary>
    public ProbeConfig ToRecord() => IsQuantum
        ? new(Sites.ToArray(), Concat, Weighting, FitFraction, MaxSequences, EmergencePanels, Seed, Protocol, MarkovOrder, RandomInitNetworks, RandomInitSeed)
        : new(Sites.ToArray(), Concat, Weighting, FitFraction, MaxSequences, EmergencePanels, Seed);

    /// <summary>Settings from a run's record, validated like any other (errors name <c>probe.x</c>).</summary>
    public static ProbeSettings FromRecord(ProbeConfig record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ProbeSettings(record.Sites, record.Concat, record.Weighting, record.FitFraction, record.MaxSequences, record.EmergencePanels, record.Seed,
            record.Protocol ?? "paper", record.MarkovOrder ?? 3, record.RandomInitNetworks ?? 10, record.RandomInitSeed ?? 1000);
    }

    internal static ProbeSettings FromJson(JsonObject? obj, ProbeSettings defaults)
    {
        if (obj is null)
        {
            return defaults;
        }

        var f = new JsonFields(obj, "probe");
        f.RejectUnknown(["sites", "concat", "weighting", "fit_fraction", "max_sequences", "emergence_panels", "seed", "protocol", "markov_order", "random_init_networks", "random_init_seed"]);
        return new ProbeSettings(
            f.Strings("sites") ?? defaults.Sites,
            f.Bool("concat") ?? defaults.Concat,
            f.String("weighting") ?? defaults.Weighting,
            f.Double("fit_fraction") ?? defaults.FitFraction,
            f.Int("max_sequences") ?? defaults.MaxSequences,
            f.Int("emergence_panels") ?? defaults.EmergencePanels,
            f.ULong("seed") ?? defaults.Seed,
            f.String("protocol") ?? defaults.Protocol,
            f.Int("markov_order") ?? defaults.MarkovOrder,
            f.Int("random_init_networks") ?? defaults.RandomInitNetworks,
            f.Long("random_init_seed") ?? defaults.RandomInitSeed);
    }
}

/// <summary>
/// One experiment: the process, the model, the training and the probes. Its JSON form is the run directory's
/// resolved config.json; an experiment file holds the same fields and unknown ones are rejected by name.
/// </summary>
public sealed record Experiment(
    string Name,
    string ProcessSpec,
    IReadOnlyDictionary<string, double> ProcessParameters,
    TransformerConfig Model,
    TrainingOptions Training,
    ProbeSettings Probe,
    string Device)
{
    public static readonly IReadOnlyList<string> Fields = ["experiment", "process", "process_name", "process_params", "model", "training", "probe", "device"];

    public static readonly IReadOnlyList<string> TrainingFields =
    [
        "steps", "batch_size", "learning_rate", "optimizer", "weight_decay", "weight_decay_applies_to", "beta1", "beta2", "momentum", "warmup_steps",
        "lr_schedule", "min_lr_fraction", "grad_clip", "seed", "data", "eval_every", "checkpoint_every", "log_checkpoints",
        "loss_read_every", "exact_validation_limit", "validation_samples",
    ];

    /// <summary>Value equality, process parameters compared as a set of pairs (a record alone would compare the dictionary by reference).</summary>
    public bool Equals(Experiment? other) =>
        other is not null && Name == other.Name && ProcessSpec == other.ProcessSpec
        && ProcessParameters.Count == other.ProcessParameters.Count
        && ProcessParameters.All(kv => other.ProcessParameters.TryGetValue(kv.Key, out double v) && v.Equals(kv.Value))
        && Model == other.Model && Training == other.Training && Probe == other.Probe && Device == other.Device;

    public override int GetHashCode() => HashCode.Combine(Name, ProcessSpec, ProcessParameters.Count, Model, Training, Probe, Device);

    public Process ResolveProcess() => ProcessResolver.Resolve(ProcessSpec, ProcessParameters);

    public JsonObject ToJson()
    {
        var parameters = new JsonObject();
        foreach (var (k, v) in ProcessParameters.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            parameters[k] = v;
        }

        return new JsonObject
        {
            ["experiment"] = Name,
            ["process"] = ProcessSpec,
            ["process_params"] = parameters,
            ["model"] = Model.ToJson(),
            ["training"] = Training.ToJson(),
            ["probe"] = Probe.ToJson(),
            ["device"] = Device,
        };
    }

    public string ToJsonString() => ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Parses an experiment; missing sections take the values of <paramref name="defaults"/> (or the built-in defaults).</summary>
    public static Experiment FromJson(JsonObject obj, Experiment? defaults = null)
    {
        ArgumentNullException.ThrowIfNull(obj);
        var f = new JsonFields(obj, string.Empty);
        f.RejectUnknown(Fields);
        string process = f.String("process") ?? defaults?.ProcessSpec ?? "mess3";
        var parameters = new Dictionary<string, double>(StringComparer.Ordinal);
        if (f.Section("process_params") is JsonObject p)
        {
            var pf = new JsonFields(p, "process_params");
            foreach (var (key, _) in p)
            {
                parameters[key] = pf.Double(key)!.Value;
            }
        }
        else if (defaults is not null && process == defaults.ProcessSpec)
        {
            foreach (var (k, v) in defaults.ProcessParameters)
            {
                parameters[k] = v;
            }
        }

        var resolvedProcess = ProcessResolver.Resolve(process, parameters);
        var modelDefaults = defaults?.Model ?? TransformerConfig.PaperMess3(resolvedProcess.VocabSize);
        var model = f.Section("model") is JsonObject m
            ? TransformerConfig.FromJson(m.ToJsonString(), modelDefaults) // errors name model.<field>
            : modelDefaults;
        if (model.DVocab != resolvedProcess.VocabSize)
        {
            throw new BeliefLensInputException($"model.d_vocab: {model.DVocab} does not match the process's {resolvedProcess.VocabSize} tokens; set it to {resolvedProcess.VocabSize}.");
        }

        var trainingSection = f.Section("training");
        var training = ParseTraining(trainingSection, defaults?.Training ?? new TrainingOptions()); // errors name training.<field>
        var probeDefaults = defaults?.Probe ?? new ProbeSettings(DefaultSites(model));
        var probe = ProbeSettings.FromJson(f.Section("probe"), probeDefaults);
        CheckSites(probe, model);
        string device = f.String("device") ?? defaults?.Device ?? "cpu";
        return new Experiment(f.String("experiment") ?? defaults?.Name ?? "custom", process, parameters, model, training, probe, device);
    }

    /// <summary>The experiment a run's config.json records (its device is not part of it: cpu).</summary>
    public static Experiment FromRunConfig(RunConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var model = TransformerConfig.FromRecord(config.Model);
        var probe = config.Probe is { } p ? ProbeSettings.FromRecord(p) : new ProbeSettings(DefaultSites(model));
        CheckSites(probe, model);
        return new Experiment(config.Experiment ?? "custom", config.Process, new Dictionary<string, double>(config.ProcessParams, StringComparer.Ordinal),
            model, TrainingOptions.FromRecord(config.Training), probe, "cpu");
    }

    /// <summary>Checks the probe sites against the model now, not after training has run.</summary>
    private static void CheckSites(ProbeSettings probe, TransformerConfig model)
    {
        var valid = SequenceModels.ProbeSitesFor(model);
        foreach (string site in probe.Sites)
        {
            if (!valid.Contains(site, StringComparer.Ordinal))
            {
                throw new BeliefLensInputException($"probe.sites: '{site}' is not a hook site of this {model.NLayers}-layer model; valid sites are {string.Join(", ", valid)}.");
            }
        }

        if (probe.Sites.Distinct(StringComparer.Ordinal).Count() != probe.Sites.Count)
        {
            throw new BeliefLensInputException("probe.sites: a site is listed twice; list each once.");
        }
    }

    /// <summary>The residual stream after the embedding and after every block, plus the final normalised stream (for a recurrent model: the input and every layer).</summary>
    public static IReadOnlyList<string> DefaultSites(TransformerConfig model) => SequenceModels.DefaultSites(model);

    private static TrainingOptions ParseTraining(JsonObject? obj, TrainingOptions d)
    {
        if (obj is null)
        {
            return d;
        }

        var f = new JsonFields(obj, "training");
        f.RejectUnknown(TrainingFields);
        return new TrainingOptions(
            steps: f.Long("steps") ?? d.Steps,
            batchSize: f.Int("batch_size") ?? d.BatchSize,
            learningRate: f.Double("learning_rate") ?? d.LearningRate,
            optimizer: f.String("optimizer") ?? d.Optimizer,
            weightDecay: f.Double("weight_decay") ?? d.WeightDecay,
            beta1: f.Double("beta1") ?? d.Beta1,
            beta2: f.Double("beta2") ?? d.Beta2,
            momentum: f.Double("momentum") ?? d.Momentum,
            warmupSteps: f.Int("warmup_steps") ?? d.WarmupSteps,
            lrSchedule: f.String("lr_schedule") ?? d.LrSchedule,
            minLrFraction: f.Double("min_lr_fraction") ?? d.MinLrFraction,
            gradClip: f.Double("grad_clip") ?? d.GradClip,
            seed: f.ULong("seed") ?? d.Seed,
            data: f.String("data") ?? d.Data,
            evalEvery: f.Long("eval_every") ?? d.EvalEvery,
            checkpointEvery: f.Long("checkpoint_every") ?? d.CheckpointEvery,
            logSpacedCheckpoints: f.Int("log_checkpoints") ?? d.LogSpacedCheckpoints,
            lossReadEvery: f.Int("loss_read_every") ?? d.LossReadEvery,
            exactValidationLimit: f.Long("exact_validation_limit") ?? d.ExactValidationLimit,
            validationSamples: f.Int("validation_samples") ?? d.ValidationSamples,
            weightDecayAppliesTo: f.String("weight_decay_applies_to") ?? d.WeightDecayAppliesTo);
    }

    /// <summary>
    /// Applies <c>--set path=value</c> overrides to an experiment's JSON, e.g. <c>training.steps=5000</c> or
    /// <c>process_params.x=0.1</c>. Values are read as JSON when they parse, otherwise as strings.
    /// </summary>
    public static void ApplyOverride(JsonObject root, string assignment)
    {
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new BeliefLensInputException($"--set: '{assignment}' must look like section.field=value, e.g. training.steps=5000.");
        }

        string path = assignment[..eq].Trim();
        string text = assignment[(eq + 1)..].Trim();
        JsonNode? value;
        try
        {
            value = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
            value = JsonValue.Create(text);
        }

        string[] parts = path.Split('.');
        JsonObject target = root;
        for (int k = 0; k < parts.Length - 1; k++)
        {
            if (!Fields.Contains(parts[0]))
            {
                break;
            }

            if (target[parts[k]] is not JsonObject child)
            {
                child = [];
                target[parts[k]] = child;
            }

            target = child;
        }

        if (!Fields.Contains(parts[0]))
        {
            throw new BeliefLensInputException($"--set {path}: unknown section '{parts[0]}'; valid: {string.Join(", ", Fields)}.");
        }

        target[parts[^1]] = value;
    }
}
