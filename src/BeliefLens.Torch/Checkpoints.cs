using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Core;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// Checkpoints in a run directory: <c>checkpoints/step_XXXXXXX.pt</c> is a PyTorch state dict with TransformerLens
/// names (<c>torch.load</c> works); <c>step_XXXXXXX.optim.pt</c> holds the optimizer buffers and
/// <c>step_XXXXXXX.json</c> the step, token count and RNG state. Each file is written to a temp name and renamed;
/// the model file is written last, so a checkpoint is complete exactly when all three exist.
/// </summary>
public static class Checkpoints
{
    public static string Directory(string runDir) => Path.Combine(runDir, "checkpoints");

    public static string ModelPath(string runDir, long step) => Path.Combine(Directory(runDir), $"step_{step:D7}.pt");

    /// <summary>Saves a TransformerLens-named state dict in PyTorch format, atomically.</summary>
    public static void SaveStateDict(string path, IDictionary<string, Tensor> state)
    {
        WriteAtomically(path, stream => PyTorchPickler.PickleStateDict(stream, CpuCopies(state), leaveOpen: true));
    }

    /// <summary>Reads a PyTorch state dict (e.g. the paper's models or our checkpoints) into CPU tensors.</summary>
    public static Dictionary<string, Tensor> LoadStateDict(string path)
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"checkpoint: '{path}' does not exist; give the path of a .pt state dict.");
        }

        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception ex) when (ex is not BeliefLensInputException)
        {
            throw new BeliefLensInputException($"checkpoint: '{path}' is not a readable PyTorch state dict ({ex.GetType().Name}); it may be corrupt or truncated.");
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in table)
        {
            if (entry.Key is string key && entry.Value is Tensor t)
            {
                result[key] = t;
            }
        }

        return result;
    }

    /// <summary>Builds a model from a config and loads a TransformerLens-named checkpoint into it.</summary>
    public static HookedTransformer LoadModel(string path, TransformerConfig config, Device? device = null)
    {
        var state = LoadStateDict(path);
        var model = new HookedTransformer(config, device);
        try
        {
            model.LoadStateDict(state, $"checkpoint {path}");
        }
        finally
        {
            foreach (var t in state.Values)
            {
                t.Dispose();
            }
        }

        return model;
    }

    /// <summary>Steps of complete checkpoints in a run directory, ascending.</summary>
    public static List<long> CompleteSteps(string runDir)
    {
        string dir = Directory(runDir);
        if (!System.IO.Directory.Exists(dir))
        {
            return [];
        }

        var steps = new List<long>();
        foreach (string file in System.IO.Directory.EnumerateFiles(dir, "step_*.pt"))
        {
            string name = Path.GetFileNameWithoutExtension(file);
            if (name.EndsWith(".optim", StringComparison.Ordinal))
            {
                continue;
            }

            if (long.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out long step)
                && File.Exists(OptimizerPath(runDir, step)) && File.Exists(StatePath(runDir, step)))
            {
                steps.Add(step);
            }
        }

        steps.Sort();
        return steps;
    }

    internal static string OptimizerPath(string runDir, long step) => Path.Combine(Directory(runDir), $"step_{step:D7}.optim.pt");

    internal static string StatePath(string runDir, long step) => Path.Combine(Directory(runDir), $"step_{step:D7}.json");

    internal static void SaveTraining(string runDir, long step, HookedTransformer model, FlatOptimizer optimizer, JsonObject state)
    {
        System.IO.Directory.CreateDirectory(Directory(runDir));
        var buffers = new Dictionary<string, Tensor> { ["first_moment"] = optimizer.FirstMoment };
        if (optimizer.SecondMoment is not null)
        {
            buffers["second_moment"] = optimizer.SecondMoment;
        }

        WriteAtomically(OptimizerPath(runDir, step), stream => PyTorchPickler.PickleStateDict(stream, CpuCopies(buffers), leaveOpen: true));
        WriteAtomically(StatePath(runDir, step), stream =>
        {
            using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
            state.WriteTo(writer);
        });
        var weights = model.StateDictTransformerLens();
        try
        {
            SaveStateDict(ModelPath(runDir, step), weights);
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    internal static JsonObject LoadTraining(string runDir, long step, HookedTransformer model, FlatOptimizer optimizer)
    {
        string modelPath = ModelPath(runDir, step);
        var state = LoadStateDict(modelPath);
        var buffers = LoadStateDict(OptimizerPath(runDir, step));
        try
        {
            model.LoadStateDict(state, $"checkpoint {modelPath}");
            using var guard = no_grad();
            CopyBuffer(buffers, "first_moment", optimizer.FirstMoment, step);
            if (optimizer.SecondMoment is not null)
            {
                CopyBuffer(buffers, "second_moment", optimizer.SecondMoment, step);
            }

            return JsonNode.Parse(File.ReadAllText(StatePath(runDir, step))) as JsonObject
                ?? throw new BeliefLensInputException($"checkpoint step {step}: state file is not a JSON object; delete the checkpoint or use --force.");
        }
        catch (JsonException)
        {
            throw new BeliefLensInputException($"checkpoint step {step}: state file is corrupt; delete that checkpoint or use --force.");
        }
        finally
        {
            foreach (var t in state.Values.Concat(buffers.Values))
            {
                t.Dispose();
            }
        }
    }

    private static void CopyBuffer(Dictionary<string, Tensor> buffers, string key, Tensor destination, long step)
    {
        if (!buffers.TryGetValue(key, out var source) || !source.shape.SequenceEqual(destination.shape))
        {
            throw new BeliefLensInputException($"checkpoint step {step}: optimizer state '{key}' is missing or has the wrong size; the run's optimizer or model changed.");
        }

        destination.copy_(source);
    }

    private static Dictionary<string, Tensor> CpuCopies(IDictionary<string, Tensor> state) =>
        state.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());

    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            write(stream);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }
}
