using System.Buffers.Binary;
using System.Collections;
using BeliefLens.Core;
using BeliefLens.Runs;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// PyTorch state dicts (TransformerLens names; <c>torch.load</c> reads them) and a run's checkpoints. Where a
/// checkpoint's files live and in which order they are written belongs to <see cref="RunDirectory"/>; this class turns
/// models and optimizer buffers into those files' bytes and back. The bytes depend only on the tensors: the zip
/// entries' timestamps are fixed, so the same seed gives byte-identical checkpoints.
/// </summary>
public static class Checkpoints
{
    /// <summary>Saves a TransformerLens-named state dict in PyTorch format, atomically.</summary>
    public static void SaveStateDict(string path, IDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = Pickle(state);
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
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

    /// <summary>Builds a transformer from a config and loads a TransformerLens-named checkpoint into it.</summary>
    public static HookedTransformer LoadModel(string path, TransformerConfig config, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (config.IsRecurrent)
        {
            throw new BeliefLensInputException($"model.architecture: '{path}' holds a {config.Architecture} model; this needs a transformer checkpoint.");
        }

        return (HookedTransformer)LoadSequenceModel(path, config, device);
    }

    /// <summary>Builds a model of any architecture from a config and loads its checkpoint (TransformerLens or PyTorch RNN names).</summary>
    public static ISequenceModel LoadSequenceModel(string path, TransformerConfig config, Device? device = null)
    {
        var state = LoadStateDict(path);
        var model = SequenceModels.Create(config, device);
        try
        {
            model.LoadStateDict(state, $"checkpoint {path}");
        }
        catch
        {
            model.Dispose();
            throw;
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

    internal static void SaveTraining(RunWriter writer, ISequenceModel model, FlatOptimizer optimizer, CheckpointSidecar sidecar)
    {
        var buffers = new Dictionary<string, Tensor> { ["first_moment"] = optimizer.FirstMoment };
        if (optimizer.SecondMoment is not null)
        {
            buffers["second_moment"] = optimizer.SecondMoment;
        }

        byte[] optimizerState = Pickle(buffers);
        var weights = model.CheckpointStateDict();
        try
        {
            writer.WriteTrainConfig(model.Config.ToTransformerLens()); // before the .pt that marks the checkpoint complete
            writer.WriteCheckpoint(sidecar.Step, optimizerState, sidecar, Pickle(weights));
        }
        finally
        {
            foreach (var t in weights.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Loads checkpoint <paramref name="step"/> into the model and optimizer; returns its sidecar.</summary>
    internal static CheckpointSidecar LoadTraining(RunDirectory run, long step, ISequenceModel model, FlatOptimizer optimizer)
    {
        var sidecar = run.ReadSidecar(step);
        string modelPath = run.CheckpointPath(step);
        var state = LoadStateDict(modelPath);
        var buffers = LoadStateDict(run.OptimizerStatePath(step));
        try
        {
            model.LoadStateDict(state, $"checkpoint {modelPath}");
            using var guard = no_grad();
            CopyBuffer(buffers, "first_moment", optimizer.FirstMoment, step);
            if (optimizer.SecondMoment is not null)
            {
                CopyBuffer(buffers, "second_moment", optimizer.SecondMoment, step);
            }

            return sidecar;
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

    /// <summary>The PyTorch zip of a state dict, with every entry's modification time fixed (see <see cref="FixZipTimestamps"/>).</summary>
    private static byte[] Pickle(IDictionary<string, Tensor> state)
    {
        var copies = state.ToDictionary(kv => kv.Key, kv => kv.Value.detach().cpu().contiguous());
        try
        {
            using var buffer = new MemoryStream();
            PyTorchPickler.PickleStateDict(buffer, copies, leaveOpen: true);
            byte[] bytes = buffer.ToArray();
            FixZipTimestamps(bytes);
            return bytes;
        }
        finally
        {
            foreach (var t in copies.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>
    /// Sets the DOS modification time and date of every entry of a zip archive to 1980-01-01 00:00, in the central
    /// directory and in each local header: the pickler stamps entries with the wall clock, which is the only thing
    /// that would make two checkpoints of the same weights differ. CRCs and data do not involve the time.
    /// </summary>
    internal static void FixZipTimestamps(Span<byte> zip)
    {
        const uint EndOfCentralDirectory = 0x06054b50, CentralHeader = 0x02014b50, LocalHeader = 0x04034b50;
        const ushort Time = 0, Date = (1 << 5) | 1; // 00:00:00, 1980-01-01
        int end = zip.Length - 22;
        while (end >= 0 && BinaryPrimitives.ReadUInt32LittleEndian(zip[end..]) != EndOfCentralDirectory)
        {
            end--;
        }

        if (end < 0)
        {
            throw new InvalidDataException("not a zip archive: no end-of-central-directory record.");
        }

        int entries = BinaryPrimitives.ReadUInt16LittleEndian(zip[(end + 10)..]);
        int at = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(zip[(end + 16)..]));
        for (int k = 0; k < entries; k++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip[at..]) != CentralHeader)
            {
                throw new InvalidDataException($"zip central directory entry {k} is malformed.");
            }

            BinaryPrimitives.WriteUInt16LittleEndian(zip[(at + 12)..], Time);
            BinaryPrimitives.WriteUInt16LittleEndian(zip[(at + 14)..], Date);
            int local = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(zip[(at + 42)..]));
            if (BinaryPrimitives.ReadUInt32LittleEndian(zip[local..]) != LocalHeader)
            {
                throw new InvalidDataException($"zip local header of entry {k} is malformed.");
            }

            BinaryPrimitives.WriteUInt16LittleEndian(zip[(local + 10)..], Time);
            BinaryPrimitives.WriteUInt16LittleEndian(zip[(local + 12)..], Date);
            at += 46 + BinaryPrimitives.ReadUInt16LittleEndian(zip[(at + 28)..]) + BinaryPrimitives.ReadUInt16LittleEndian(zip[(at + 30)..])
                + BinaryPrimitives.ReadUInt16LittleEndian(zip[(at + 32)..]);
        }
    }
}
