using System.Globalization;
using System.Text.RegularExpressions;
using BeliefLens.Core;

namespace BeliefLens.Runs;

/// <summary>
/// The one owner of a run directory's layout: every path, the typed reads of its files, and the lock that makes
/// one process at a time its writer (<see cref="Lock"/> returns the <see cref="RunWriter"/> that does every write).
/// <code>
/// config.json                    RunConfig: what the run trains and probes
/// metrics.jsonl                  MetricsLine per logged step (appended; a kill can only cut the last line short)
/// checkpoints/step_XXXXXXX.pt    PyTorch state dict (TransformerLens names), written last: marks the checkpoint complete
/// checkpoints/step_XXXXXXX.optim.pt   optimizer buffers
/// checkpoints/step_XXXXXXX.json  CheckpointSidecar: step, RNG state, and the model/process to load the .pt on its own
/// checkpoints/train_config.json  TransformerLensConfig: HookedTransformerConfig(**cfg) for Python (TransformerLens)
/// summary.json                   RunSummary
/// probes.jsonl                   ProbeLine per probed checkpoint, ascending step
/// metrics.parquet, probes.parquet the two JSONL files as Parquet tables, refreshed whenever summary.json is written
/// probe/                         ProbeFolder: probe.json (ProbeResult), .npy arrays, emergence/step_XXXXXXX.npy
/// figures/, report.html          the rendered report
/// dimension.json                 fractal dimensions of the exact and predicted beliefs (written by `dimension RUN_DIR`)
/// tensorboard/                   TensorBoard event files: *.train, *.probe, *.report (each rebuilt when its stage runs)
/// .lock, .lock-holder.json       the writer's lock and who holds it
/// </code>
/// </summary>
public sealed partial class RunDirectory
{
    private const string ConfigFile = "config.json";
    private const string MetricsFile = "metrics.jsonl";
    private const string SummaryFile = "summary.json";
    private const string ProbesFile = "probes.jsonl";
    private const string MetricsTableFile = "metrics.parquet";
    private const string ProbesTableFile = "probes.parquet";
    private const string CheckpointsFolder = "checkpoints";
    private const string TrainConfigFile = "train_config.json";
    private const string ProbeFolderName = "probe";
    private const string FiguresFolder = "figures";
    private const string TensorBoardFolder = "tensorboard";
    private const string ReportFile = "report.html";
    private const string DimensionFile = "dimension.json";
    private const string LockFile = ".lock";
    private const string LockHolderFile = ".lock-holder.json";
    private const string QuantumFolderName = "quantum";
    private const string UniversalityFile = "universality.json";

    /// <summary>Suffix of a file being written; renamed to its real name when complete.</summary>
    internal const string TempSuffix = ".tmp";

    public RunDirectory(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new BeliefLensInputException("run directory: the path is empty; give a directory.");
        }

        Path = path;
        Probe = new ProbeFolder(Combine(ProbeFolderName));
    }

    public string Path { get; }

    public string ConfigPath => Combine(ConfigFile);

    public string MetricsPath => Combine(MetricsFile);

    public string SummaryPath => Combine(SummaryFile);

    public string ProbesPath => Combine(ProbesFile);

    /// <summary>metrics.jsonl as a Parquet table, refreshed with summary.json.</summary>
    public string MetricsTablePath => Combine(MetricsTableFile);

    /// <summary>probes.jsonl as a Parquet table (one row per checkpoint × site), refreshed with summary.json.</summary>
    public string ProbesTablePath => Combine(ProbesTableFile);

    public string CheckpointsPath => Combine(CheckpointsFolder);

    public string FiguresPath => Combine(FiguresFolder);

    /// <summary>tensorboard/: TensorBoard event files (<c>tensorboard --logdir</c> this, or a sweep's jobs/ folder).</summary>
    public string TensorBoardPath => Combine(TensorBoardFolder);

    public string ReportPath => Combine(ReportFile);

    /// <summary>
    /// quantum/: the quantum paper's probe protocol (<c>probe.protocol: "quantum"</c>): <c>quantum_probe.json</c> and the
    /// anchors' arrays (true and predicted beliefs of the concatenated site, anchor weights, Markov beliefs).
    /// </summary>
    public string QuantumPath => Combine(QuantumFolderName);

    public string QuantumProbePath => Combine(System.IO.Path.Combine(QuantumFolderName, "quantum_probe.json"));

    /// <summary>quantum/beliefs_true.npy, written last: its presence marks the quantum probe complete.</summary>
    public string QuantumTrueBeliefsPath => Combine(System.IO.Path.Combine(QuantumFolderName, "beliefs_true.npy"));

    public string QuantumWeightsPath => Combine(System.IO.Path.Combine(QuantumFolderName, "anchor_weights.npy"));

    public string QuantumPredictedPath(string site) => Combine(System.IO.Path.Combine(QuantumFolderName, $"beliefs_pred.{site}.npy"));

    public bool HasQuantumProbe => File.Exists(QuantumProbePath) && File.Exists(QuantumTrueBeliefsPath);

    public QuantumProbeResult ReadQuantumProbe() => ReadFile<QuantumProbeResult>(QuantumProbePath, "the quantum probe has not run (probe.protocol \"quantum\")");

    /// <summary>universality.json of a <c>belieflens universality --out DIR</c> comparison.</summary>
    public string UniversalityPath => Combine(UniversalityFile);
    /// <summary>dimension.json: the fractal dimensions of the exact and the predicted belief clouds (<c>belieflens dimension RUN_DIR</c>).</summary>
    public string DimensionPath => Combine(DimensionFile);

    internal string LockPath => Combine(LockFile);

    internal string LockHolderPath => Combine(LockHolderFile);

    /// <summary>The run's final probe and emergence arrays (probe/).</summary>
    public ProbeFolder Probe { get; }

    /// <summary>A probe of a single checkpoint keeps probe.json and its arrays at the top of its directory.</summary>
    public ProbeFolder ProbeAtRoot => new(Path);

    public string CheckpointPath(long step) => CheckpointFile(step, ".pt");

    public string OptimizerStatePath(long step) => CheckpointFile(step, ".optim.pt");

    public string SidecarPath(long step) => CheckpointFile(step, ".json");

    /// <summary>checkpoints/train_config.json: the model for TransformerLens, beside every checkpoint.</summary>
    public string TrainConfigPath => System.IO.Path.Combine(CheckpointsPath, TrainConfigFile);

    /// <summary>The sidecar beside a checkpoint file wherever it was copied (step_0000400.pt → step_0000400.json).</summary>
    public static string SidecarPathOf(string checkpointPath)
    {
        ArgumentNullException.ThrowIfNull(checkpointPath);
        string stem = checkpointPath.EndsWith(".pt", StringComparison.Ordinal) ? checkpointPath[..^3] : checkpointPath;
        return stem + ".json";
    }

    /// <summary>True when config.json exists: the directory holds a run (finished or not).</summary>
    public bool HoldsRun => File.Exists(ConfigPath);

    /// <summary>True when the directory is missing or holds nothing but a lock and files left half-written by a kill.</summary>
    public bool IsEmpty => !Directory.Exists(Path) || Directory.EnumerateFileSystemEntries(Path).All(IsBookkeeping);

    public bool HasSummary => File.Exists(SummaryPath);

    /// <summary>Steps of complete checkpoints (all three files present), ascending.</summary>
    public IReadOnlyList<long> CompleteCheckpointSteps()
    {
        if (!Directory.Exists(CheckpointsPath))
        {
            return [];
        }

        var steps = new List<long>();
        foreach (string file in Directory.EnumerateFiles(CheckpointsPath, "step_*.pt"))
        {
            string name = System.IO.Path.GetFileName(file);
            if (name.EndsWith(".optim.pt", StringComparison.Ordinal)
                || !long.TryParse(name.AsSpan(5, name.Length - 8), NumberStyles.None, CultureInfo.InvariantCulture, out long step)
                || file != CheckpointPath(step))
            {
                continue;
            }

            if (File.Exists(OptimizerStatePath(step)) && File.Exists(SidecarPath(step)))
            {
                steps.Add(step);
            }
        }

        steps.Sort();
        return steps;
    }

    public RunConfig ReadConfig() => ReadConfigFile(ConfigPath);

    /// <summary>A run's config.json read from anywhere (e.g. a model config given by path).</summary>
    public static RunConfig ReadConfigFile(string path) => ReadFile<RunConfig>(path, "this directory holds no run");

    public RunSummary ReadSummary() => ReadFile<RunSummary>(SummaryPath, "training has not finished");

    public CheckpointSidecar ReadSidecar(long step) => ReadFile<CheckpointSidecar>(SidecarPath(step), "the checkpoint is incomplete");

    /// <summary>The sidecar beside a checkpoint file, or null when there is none (e.g. a checkpoint from another tool).</summary>
    public static CheckpointSidecar? ReadSidecarOf(string checkpointPath)
    {
        string path = SidecarPathOf(checkpointPath);
        return File.Exists(path) ? ReadFile<CheckpointSidecar>(path, string.Empty) : null;
    }

    /// <summary>metrics.jsonl; a last line without its newline was cut short by a kill and is left out.</summary>
    public IReadOnlyList<MetricsLine> ReadMetrics() =>
        ReadLines<MetricsLine>(MetricsPath, skipUnterminatedLast: true).Select(l => l.Record).ToList();

    /// <summary>probes.jsonl, ascending step (empty when nothing is probed yet).</summary>
    public IReadOnlyList<ProbeLine> ReadProbeLines() =>
        ReadLines<ProbeLine>(ProbesPath, skipUnterminatedLast: false).Select(l => l.Record).ToList();

    /// <summary>Who holds the lock, as they recorded it; null when nobody recorded it.</summary>
    public LockHolder? ReadLockHolder()
    {
        try
        {
            return File.Exists(LockHolderPath) ? RunJson.Deserialize<LockHolder>(File.ReadAllBytes(LockHolderPath), LockHolderPath) : null;
        }
        catch (Exception ex) when (ex is BeliefLensInputException or IOException)
        {
            return null; // being replaced by the next holder, or damaged: the message then says less
        }
    }

    /// <summary>
    /// Takes the directory's lock (creating the directory) and returns its writer. The lock is an OS file lock on
    /// .lock, released by the kernel when this process ends however it ends, so a killed run never blocks the next.
    /// A second writer is refused with one line naming the holder's pid and command.
    /// </summary>
    /// <param name="command">What the holder is doing, for that message; default: this process's command line.</param>
    public RunWriter Lock(string? command = null)
    {
        Directory.CreateDirectory(Path);
        FileStream stream;
        try
        {
            stream = new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new BeliefLensInputException(HeldMessage(ex));
        }

        return new RunWriter(this, stream, command ?? Environment.CommandLine);
    }

    private string HeldMessage(IOException ex)
    {
        if (ReadLockHolder() is not { } holder)
        {
            return $"{Path}: another process holds this run directory's lock ({ex.Message}); wait for it to finish or stop it, then rerun.";
        }

        string command = string.Join(' ', holder.Command.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return string.Create(CultureInfo.InvariantCulture,
            $"{Path}: in use by pid {holder.Pid} on {holder.Host} since {holder.StartedUtc:yyyy-MM-dd HH:mm:ss}Z ({command}); wait for it to finish or stop it (kill {holder.Pid}), then rerun.");
    }

    /// <summary>The lock, its holder record and files a kill left half-written: never part of a run.</summary>
    private bool IsBookkeeping(string entry)
    {
        string name = System.IO.Path.GetFileName(entry);
        return name is LockFile or LockHolderFile || (File.Exists(entry) && IsLeftover(entry));
    }

    /// <summary>
    /// A file that a writer of this run was killed while writing: "name.tmp" (the run's own writer) or "name.tmp-PID"
    /// (the .npy and figure writers), where name is a file this run writes. Anything else is not ours to delete.
    /// </summary>
    internal bool IsLeftover(string file)
    {
        var match = TempName().Match(System.IO.Path.GetFileName(file));
        return match.Success && Owns(System.IO.Path.Combine(System.IO.Path.GetDirectoryName(file) ?? ".", match.Groups[1].Value));
    }

    /// <summary>The folders this run writes files into, where leftovers of a killed writer can be.</summary>
    internal IEnumerable<string> Folders() => [Path, CheckpointsPath, Probe.Path, Probe.EmergencePath, FiguresPath];

    /// <summary>True for a file this run (or a probe of one checkpoint kept at its top) writes.</summary>
    private bool Owns(string file)
    {
        string folder = Full(System.IO.Path.GetDirectoryName(file) ?? ".");
        string name = System.IO.Path.GetFileName(file);
        bool probeFile = name == ProbeFolder.ResultFile || name.EndsWith(".npy", StringComparison.Ordinal);
        return folder == Full(Path) ? name is ConfigFile or MetricsFile or SummaryFile or ProbesFile or ReportFile or DimensionFile or LockHolderFile or MetricsTableFile or ProbesTableFile || probeFile
            : folder == Full(CheckpointsPath) ? name.StartsWith("step_", StringComparison.Ordinal) || name == TrainConfigFile
            : folder == Full(Probe.Path) || folder == Full(Probe.EmergencePath) ? probeFile
            : folder == Full(FiguresPath);
    }

    private static string Full(string path) => System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(path));

    [GeneratedRegex(@"^(.+)\.tmp(-[0-9]+)?$")]
    private static partial Regex TempName();

    /// <summary>Run outputs that replacing the run deletes, config.json first (so a kill part-way leaves no run claimed).</summary>
    internal IEnumerable<string> ReplaceableFiles() =>
        [ConfigPath, MetricsPath, SummaryPath, ProbesPath, ReportPath, MetricsTablePath, ProbesTablePath, CompositePath, DimensionPath];

    internal IEnumerable<string> ReplaceableFolders() => [CheckpointsPath, Probe.Path, FiguresPath, TensorBoardPath, QuantumPath];

    private string Combine(string name) => System.IO.Path.Combine(Path, name);

    private string CheckpointFile(long step, string extension) =>
        System.IO.Path.Combine(CheckpointsPath, string.Create(CultureInfo.InvariantCulture, $"step_{step:D7}{extension}"));

    internal static T ReadFile<T>(string path, string whyMissing)
        where T : class
    {
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"{path}: does not exist{(whyMissing.Length > 0 ? $" ({whyMissing})" : string.Empty)}.");
        }

        return RunJson.Deserialize<T>(File.ReadAllBytes(path), path);
    }

    /// <summary>The records of a JSONL file with each line's exact bytes (rewrites keep lines byte for byte).</summary>
    internal static List<(T Record, ReadOnlyMemory<byte> Bytes)> ReadLines<T>(string path, bool skipUnterminatedLast)
        where T : class
    {
        var result = new List<(T, ReadOnlyMemory<byte>)>();
        if (!File.Exists(path))
        {
            return result;
        }

        ReadOnlyMemory<byte> text = File.ReadAllBytes(path);
        int start = 0, number = 0;
        while (start < text.Length)
        {
            int end = text.Span[start..].IndexOf((byte)'\n');
            bool terminated = end >= 0;
            var line = terminated ? text.Slice(start, end) : text[start..];
            start += terminated ? end + 1 : line.Length;
            number++;
            if (!terminated && skipUnterminatedLast)
            {
                break;
            }

            if (line.Span.Trim((byte)' ').IsEmpty)
            {
                continue;
            }

            result.Add((RunJson.Deserialize<T>(line.Span, $"{path}:{number}"), line));
        }

        return result;
    }

    /// <summary>The files of a run's probe, or of a probe of one checkpoint: probe.json and the arrays beside it.</summary>
    public sealed class ProbeFolder
    {
        internal const string ResultFile = "probe.json";
        private const string EmergenceFolder = "emergence";

        internal ProbeFolder(string path) => Path = path;

        public string Path { get; }

        /// <summary>probe.json (<see cref="ProbeResult"/>).</summary>
        public string ResultPath => Combine(ResultFile);

        /// <summary>The exact belief of every row, [rows][states] float64; written last, so its presence marks the probe complete.</summary>
        public string TrueBeliefsPath => Combine("beliefs_true.npy");

        /// <summary>The next-token distribution of every row, [rows][vocab] float64.</summary>
        public string NextTokenPath => Combine("next_token_true.npy");

        /// <summary>The probability of every row's prefix, [rows] float64.</summary>
        public string PrefixProbabilityPath => Combine("prefix_probability.npy");

        /// <summary>The probe's predicted beliefs from one site, [rows][states] float64.</summary>
        public string PredictedPath(string site) => Combine($"beliefs_pred.{site}.npy");

        public string EmergencePath => Combine(EmergenceFolder);

        /// <summary>The predicted beliefs at one checkpoint, float32, for the emergence figures.</summary>
        public string EmergenceStepPath(long step) =>
            System.IO.Path.Combine(EmergencePath, string.Create(CultureInfo.InvariantCulture, $"step_{step:D7}.npy"));

        /// <summary>True once probe.json and its arrays are all written.</summary>
        public bool IsComplete => File.Exists(ResultPath) && File.Exists(TrueBeliefsPath);

        public ProbeResult ReadResult() => ReadFile<ProbeResult>(ResultPath, "the probe has not finished");

        private string Combine(string name) => System.IO.Path.Combine(Path, name);
    }
}
