using System.Globalization;
using BeliefLens.Analysis;

namespace BeliefLens.Runs;

/// <summary>
/// The only way to write a run directory: obtained from <see cref="RunDirectory.Lock"/>, it holds the directory's
/// lock until disposed. Every file is written to a temp name and renamed, or (metrics.jsonl) appended a whole line at a
/// time, so a kill at any instant leaves each file either as it was or complete.
/// </summary>
public sealed class RunWriter : IDisposable
{
    private readonly FileStream _lock;
    private readonly string _root;
    private bool _released;

    internal RunWriter(RunDirectory directory, FileStream lockStream, string command)
    {
        Directory = directory;
        _lock = lockStream;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(directory.Path)) + Path.DirectorySeparatorChar;
        try
        {
            RemoveTempFiles();
            var holder = new LockHolder(Environment.ProcessId, Environment.MachineName, command, DateTimeOffset.UtcNow);
            WriteAtomically(directory.LockHolderPath, RunJson.Serialize(holder, indented: true));
        }
        catch
        {
            _lock.Dispose();
            throw;
        }
    }

    public RunDirectory Directory { get; }

    public void WriteConfig(RunConfig config) => WriteAtomically(Directory.ConfigPath, RunJson.Serialize(config, indented: true));

    /// <summary>
    /// Writes summary.json, first refreshing the Parquet copies of metrics.jsonl and probes.jsonl (metrics.parquet,
    /// probes.parquet), so a summary never stands beside stale tables.
    /// </summary>
    public void WriteSummary(RunSummary summary)
    {
        var metrics = Directory.ReadMetrics();
        if (metrics.Count > 0)
        {
            WriteIfChanged(Directory.MetricsTablePath, RunTables.Metrics(metrics));
        }

        var probes = Directory.ReadProbeLines();
        if (probes.Count > 0)
        {
            WriteIfChanged(Directory.ProbesTablePath, RunTables.Probes(probes));
        }

        WriteAtomically(Directory.SummaryPath, RunJson.Serialize(summary, indented: true));
    }

    /// <summary>Writes checkpoints/train_config.json (the model in TransformerLens's names), atomically.</summary>
    public void WriteTrainConfig(TransformerLensConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        WriteIfChanged(Directory.TrainConfigPath, RunJson.Serialize(config, indented: true)); // the same for every checkpoint of a run
    }

    public void WriteAttention(AttentionResult result) => WriteAtomically(Directory.AttentionPath, RunJson.Serialize(result, indented: true));

    /// <summary>
    /// Writes checkpoint <paramref name="step"/>: the optimizer state, then the sidecar, then the model, each atomically.
    /// The model file comes last, so a checkpoint is complete exactly when all three exist.
    /// </summary>
    public void WriteCheckpoint(long step, ReadOnlySpan<byte> optimizerState, CheckpointSidecar sidecar, ReadOnlySpan<byte> model)
    {
        ArgumentNullException.ThrowIfNull(sidecar);
        if (sidecar.Step != step)
        {
            throw new ArgumentException($"sidecar is for step {sidecar.Step}, not {step}.", nameof(sidecar));
        }

        WriteAtomically(Directory.OptimizerStatePath(step), optimizerState);
        WriteAtomically(Directory.SidecarPath(step), RunJson.Serialize(sidecar, indented: true));
        WriteAtomically(Directory.CheckpointPath(step), model);
    }

    /// <summary>
    /// Opens metrics.jsonl to append, first dropping the lines after <paramref name="keepThroughStep"/> (written after
    /// the checkpoint a resumed run restarts from) and a last line a kill cut short. The kept lines stay byte for byte;
    /// the file is rewritten atomically only when something is dropped.
    /// </summary>
    public MetricsLog OpenMetrics(long keepThroughStep)
    {
        ThrowIfReleased();
        string path = Directory.MetricsPath;
        if (File.Exists(path))
        {
            var lines = RunDirectory.ReadLines<MetricsLine>(path, skipUnterminatedLast: true);
            var kept = lines.Where(l => l.Record.Step <= keepThroughStep).ToList();
            long expectedLength = lines.Sum(l => l.Bytes.Length + 1L);
            if (kept.Count != lines.Count || new FileInfo(path).Length != expectedLength)
            {
                var bytes = new MemoryStream();
                foreach (var (_, line) in kept)
                {
                    bytes.Write(line.Span);
                    bytes.WriteByte((byte)'\n');
                }

                WriteAtomically(path, bytes.ToArray());
            }
        }

        return new MetricsLog(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read));
    }

    /// <summary>
    /// Adds or replaces the line of <paramref name="line"/>'s step in probes.jsonl (kept in ascending step order) and
    /// rewrites the file atomically: the one writer of probes.jsonl.
    /// </summary>
    public void RecordProbe(ProbeLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var lines = Directory.ReadProbeLines().Where(l => l.Step != line.Step).Append(line).OrderBy(l => l.Step);
        var bytes = new MemoryStream();
        foreach (var l in lines)
        {
            bytes.Write(RunJson.Serialize(l, indented: false));
            bytes.WriteByte((byte)'\n');
        }

        WriteAtomically(Directory.ProbesPath, bytes.ToArray());
    }

    /// <summary>
    /// Writes a probe's result and its arrays: the predicted beliefs per site, the next-token targets (if any), the
    /// prefix probabilities, probe.json, and last the true beliefs, whose presence marks the probe complete.
    /// </summary>
    public void WriteProbeResult(RunDirectory.ProbeFolder folder, ProbeResult result, IReadOnlyDictionary<string, DenseMatrix> predicted,
        DenseMatrix trueBeliefs, ReadOnlySpan<double> prefixProbability, DenseMatrix? nextToken = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(predicted);
        CreateParent(folder.TrueBeliefsPath);
        File.Delete(folder.TrueBeliefsPath); // not complete until rewritten
        foreach (var (site, matrix) in predicted)
        {
            WriteArray(folder.PredictedPath(site), matrix);
        }

        if (nextToken is not null)
        {
            WriteArray(folder.NextTokenPath, nextToken);
        }

        WriteArray(folder.PrefixProbabilityPath, prefixProbability, prefixProbability.Length);
        WriteAtomically(folder.ResultPath, RunJson.Serialize(result, indented: true));
        WriteArray(folder.TrueBeliefsPath, trueBeliefs);
    }

    /// <summary>
    /// Writes a quantum probe: the predicted beliefs per site, the anchor weights, quantum_probe.json, and last the true
    /// beliefs, whose presence marks it complete.
    /// </summary>
    public void WriteQuantumProbe(QuantumProbeResult result, IReadOnlyDictionary<string, DenseMatrix> predicted, DenseMatrix trueBeliefs,
        ReadOnlySpan<double> anchorWeights)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(predicted);
        CreateParent(Directory.QuantumTrueBeliefsPath);
        File.Delete(Directory.QuantumTrueBeliefsPath); // not complete until rewritten
        foreach (var (site, matrix) in predicted)
        {
            WriteArray(Directory.QuantumPredictedPath(site), matrix);
        }

        WriteArray(Directory.QuantumWeightsPath, anchorWeights, anchorWeights.Length);
        WriteAtomically(Directory.QuantumProbePath, RunJson.Serialize(result, indented: true));
        WriteArray(Directory.QuantumTrueBeliefsPath, trueBeliefs);
    }

    /// <summary>Writes universality.json (the rows of a cross-run comparison), atomically.</summary>
    public void WriteUniversality(IReadOnlyList<UniversalityRow> rows) =>
        WriteAtomically(Directory.UniversalityPath, RunJson.Serialize(rows, indented: true));

    /// <summary>Writes a [rows][cols] array as .npy (float64, or float32 when <paramref name="singlePrecision"/>), atomically.</summary>
    public void WriteArray(string path, DenseMatrix matrix, bool singlePrecision = false)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        CreateParent(path);
        NpyFile.Write(path, matrix, singlePrecision);
    }

    /// <summary>Writes a float64 array of the given shape as .npy, atomically.</summary>
    public void WriteArray(string path, ReadOnlySpan<double> data, params int[] shape)
    {
        CreateParent(path);
        NpyFile.WriteFloat64(path, data, shape);
    }

    /// <summary>Writes a text file of the run (e.g. <see cref="RunDirectory.ReportPath"/>) as UTF-8, atomically.</summary>
    public void WriteText(string path, string text)
    {
        Inside(path);
        WriteAtomically(path, System.Text.Encoding.UTF8.GetBytes(text));
    }

    /// <summary>Creates a folder of the run (e.g. <see cref="RunDirectory.FiguresPath"/>) for a writer that takes a folder.</summary>
    public string CreateFolder(string path)
    {
        Inside(path);
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Prepares tensorboard/ for a fresh event file of one kind (train, probe or report): deletes the earlier files of
    /// that kind (they are rebuilt from the run's records) and returns the folder for TorchSharp's SummaryWriter.
    /// </summary>
    public string ClearTensorBoard(string kind)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(kind);
        string folder = CreateFolder(Directory.TensorBoardPath);
        foreach (string file in System.IO.Directory.EnumerateFiles(folder, "events.out.tfevents.*." + kind))
        {
            File.Delete(file);
        }

        return folder;
    }

    /// <summary>Deletes the run's outputs, config.json first, to start a different run here; other files stay.</summary>
    public void ClearForReplacement()
    {
        ThrowIfReleased();
        foreach (string file in Directory.ReplaceableFiles())
        {
            File.Delete(file);
        }

        foreach (string folder in Directory.ReplaceableFolders().Where(System.IO.Directory.Exists))
        {
            System.IO.Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>Releases the lock (the holder record goes first, so nobody reads it once the lock is free).</summary>
    public void Dispose()
    {
        if (_released)
        {
            return;
        }

        _released = true;
        try
        {
            File.Delete(Directory.LockHolderPath);
        }
        finally
        {
            _lock.Dispose();
        }
    }

    /// <summary>Temp files are left only by a writer that was killed; holding the lock, no writer of ours is running.</summary>
    private void RemoveTempFiles()
    {
        foreach (string folder in Directory.Folders().Where(System.IO.Directory.Exists))
        {
            foreach (string file in System.IO.Directory.EnumerateFiles(folder).Where(Directory.IsLeftover))
            {
                File.Delete(file);
            }
        }
    }

    private void WriteAtomically(string path, ReadOnlySpan<byte> bytes)
    {
        CreateParent(path);
        string temp = path + RunDirectory.TempSuffix;
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(bytes);
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Derived files are rewritten only when their bytes change, so a file a rerun reproduces keeps its timestamp.</summary>
    private void WriteIfChanged(string path, byte[] bytes)
    {
        if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            WriteAtomically(path, bytes);
        }
    }

    private void CreateParent(string path)
    {
        Inside(path);
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Every write stays inside the locked directory.</summary>
    private void Inside(string path)
    {
        ThrowIfReleased();
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        if (!full.StartsWith(_root, StringComparison.Ordinal) && full + Path.DirectorySeparatorChar != _root)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{path} is outside the run directory {Directory.Path}."), nameof(path));
        }
    }

    private void ThrowIfReleased() => ObjectDisposedException.ThrowIf(_released, this);

    /// <summary>metrics.jsonl open for appending; each line is written and flushed whole.</summary>
    public sealed class MetricsLog : IDisposable
    {
        private readonly FileStream _stream;

        internal MetricsLog(FileStream stream) => _stream = stream;

        public void Append(MetricsLine line)
        {
            byte[] json = RunJson.Serialize(line ?? throw new ArgumentNullException(nameof(line)), indented: false);
            var bytes = new byte[json.Length + 1];
            json.CopyTo(bytes, 0);
            bytes[^1] = (byte)'\n';
            _stream.Write(bytes); // one write call: a kill leaves the line whole or cut short, never interleaved
            _stream.Flush();
        }

        public void Dispose() => _stream.Dispose();
    }
}
