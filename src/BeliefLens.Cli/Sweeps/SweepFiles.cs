using BeliefLens.Cli.Run;

namespace BeliefLens.Cli.Sweeps;

/// <summary>
/// The only place the sweep code learns where a run directory keeps its files (re-point it here when the run
/// directory's owner type changes).
/// </summary>
internal static class JobRunFiles
{
    public static string Summary(string runDir) => RunFiles.Summary(runDir);

    public static string Report(string runDir) => RunFiles.Report(runDir);

    public static string Probes(string runDir) => RunFiles.Probes(runDir);

    public static string Config(string runDir) => RunFiles.Config(runDir);

    public static string TrueBeliefs(string runDir) => RunFiles.TrueBeliefs(runDir);

    public static string Predicted(string runDir, string site) => RunFiles.Predicted(runDir, site);

    public static string PrefixProbability(string runDir) => RunFiles.PrefixProbability(runDir);

    /// <summary>A job is done when its summary and its report exist (the report is the pipeline's last write).</summary>
    public static bool IsDone(string runDir) => File.Exists(Summary(runDir)) && File.Exists(Report(runDir));
}

/// <summary>The layout of a sweep directory.</summary>
internal static class SweepFiles
{
    public static string Jobs(string sweep) => Path.Combine(sweep, "jobs");

    /// <summary>The job's run directory: a plain <c>belieflens run</c> directory.</summary>
    public static string JobDir(string sweep, string id) => Path.Combine(Jobs(sweep), id);

    /// <summary>The per-job lock, beside (not inside) the run directory so the run directory stays a plain run.</summary>
    public static string Lock(string sweep, string id) => Path.Combine(Jobs(sweep), id + ".lock");

    /// <summary>One JSON line per attempt event (start, done, failed) with host, pid and time.</summary>
    public static string Attempts(string sweep, string id) => Path.Combine(Jobs(sweep), id + ".attempts.jsonl");

    /// <summary>The console output of the job's attempts on the local backend.</summary>
    public static string Log(string sweep, string id) => Path.Combine(Jobs(sweep), id + ".log");

    public static string SlurmDir(string sweep) => Path.Combine(sweep, "slurm");

    public static string SlurmScript(string sweep) => Path.Combine(SlurmDir(sweep), "array.sbatch");

    public static string SlurmSubmissions(string sweep) => Path.Combine(SlurmDir(sweep), "submissions.jsonl");

    public static string SlurmLogs(string sweep) => Path.Combine(SlurmDir(sweep), "logs");

    public static string ResultsCsv(string sweep) => Path.Combine(sweep, "results.csv");

    public static string ResultsParquet(string sweep) => Path.Combine(sweep, "results.parquet");

    public static string Report(string sweep) => Path.Combine(sweep, "report.html");

    public static string Figures(string sweep) => Path.Combine(sweep, "figures");
}
