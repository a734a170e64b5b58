using System.ComponentModel;
using System.Globalization;
using BeliefLens.Cli.Run;
using BeliefLens.Cli.Sweeps;
using BeliefLens.Core;
using BeliefLens.Torch;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>Settings of the sweep commands that act on a planned sweep directory.</summary>
public abstract class SweepDirectorySettings : CommandSettings
{
    [CommandArgument(0, "[SWEEP]")]
    [Description("the sweep directory (holds manifest.jsonl; required)")]
    public string? Sweep { get; init; }

    public override ValidationResult Validate() => Sweep is null
        ? ValidationResult.Error("SWEEP: name the sweep directory that 'belieflens sweep plan' wrote.")
        : ValidationResult.Success();
}

/// <summary>Sweep commands are typed <c>sweep &lt;name&gt;</c>.</summary>
public abstract class SweepCommand<TSettings> : BeliefLensCommand<TSettings>
    where TSettings : CommandSettings
{
    protected override string UsagePath(CommandContext context) => "sweep " + context.Name;
}

/// <summary><c>belieflens sweep plan SPEC --out SWEEP [--max-jobs N] [--replace]</c></summary>
public sealed class SweepPlanCommand : SweepCommand<SweepPlanCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[SPEC]")]
        [Description("the sweep spec, YAML or JSON: base, axes and/or runs (required)")]
        public string? Spec { get; init; }

        [CommandOption("--out <SWEEP>")]
        [Description("the sweep directory to write manifest.jsonl into (required)")]
        public string? Out { get; init; }

        [CommandOption("--max-jobs <N>")]
        [Description("refuse specs that expand to more jobs than this")]
        [DefaultValue(10_000L)]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        public long MaxJobs { get; init; } = 10_000;

        [CommandOption("--replace")]
        [Description("overwrite a different manifest already in SWEEP (finished jobs whose ids stay are kept)")]
        public bool Replace { get; init; }

        public override ValidationResult Validate() =>
            Spec is null ? ValidationResult.Error("sweep plan: name a sweep spec (.yaml or .json).")
            : Out is null ? ValidationResult.Error("--out: name the sweep directory, e.g. --out sweeps/seeds.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var spec = SweepSpec.Load(settings.Spec!);
        var jobs = SweepManifest.Plan(spec, settings.MaxJobs);
        bool written = SweepManifest.Write(settings.Out!, jobs, settings.Replace);
        var paths = SweepManifest.AxisPaths(jobs);
        Console.WriteLine($"{jobs.Count} jobs over {(paths.Count == 0 ? "no overrides" : string.Join(", ", paths))}{(written ? string.Empty : " (manifest unchanged)")}");
        Console.WriteLine(SweepManifest.PathIn(settings.Out!));
        return 0;
    }
}

/// <summary><c>belieflens sweep run SWEEP --backend local|slurm …</c></summary>
public sealed class SweepRunCommand : SweepCommand<SweepRunCommand.Settings>
{
    public static readonly IReadOnlyList<string> Backends = ["local", "slurm"];

    public sealed class Settings : SweepDirectorySettings
    {
        [CommandOption("--backend <NAME>")]
        [Description("local (child processes on this machine) or slurm (one sbatch array)")]
        [DefaultValue("local")]
        public string Backend { get; init; } = "local";

        [CommandOption("--parallel <N>")]
        [Description("local: jobs at a time (default: cores ÷ threads)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 4096)]
        public int? Parallel { get; init; }

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads per job (local default 1; slurm default --cpus-per-task); keep it fixed for bit-identical results")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--partition <P>")]
        [Description("slurm: the partition (default: the cluster's default)")]
        public string? Partition { get; init; }

        [CommandOption("--account <A>")]
        [Description("slurm: the account to charge")]
        public string? Account { get; init; }

        [CommandOption("--time <T>")]
        [Description("slurm: time limit per job, e.g. 01:00:00")]
        public string? Time { get; init; }

        [CommandOption("--max-concurrent <P>")]
        [Description("slurm: array tasks running at once (the %P of --array)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 100_000)]
        public int? MaxConcurrent { get; init; }

        [CommandOption("--mem <M>")]
        [Description("slurm: memory per job, e.g. 4G")]
        public string? Mem { get; init; }

        [CommandOption("--command <CMD>")]
        [Description("slurm: how compute nodes start belieflens (default: this installation, e.g. 'dotnet /shared/belieflens/belieflens.dll')")]
        public string? Command { get; init; }

        [CommandOption("--dry-run")]
        [Description("slurm: write and print the script, submit nothing")]
        public bool DryRun { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            if (!result.Successful)
            {
                return result;
            }

            if (!Backends.Contains(Backend, StringComparer.Ordinal))
            {
                return ValidationResult.Error($"--backend: '{Backend}' is not known; use local or slurm.");
            }

            bool slurmOnly = Partition is not null || Account is not null || Time is not null || MaxConcurrent is not null || Mem is not null || Command is not null || DryRun;
            if (Backend == "local" && slurmOnly)
            {
                return ValidationResult.Error("--backend local: --partition, --account, --time, --max-concurrent, --mem, --command and --dry-run apply to --backend slurm only.");
            }

            return Backend == "slurm" && Parallel is not null
                ? ValidationResult.Error("--parallel: applies to --backend local; use --max-concurrent for slurm.")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string sweep = settings.Sweep!;
        if (settings.Backend == "slurm")
        {
            var options = new SlurmOptions(settings.Partition, settings.Account, settings.Time, settings.MaxConcurrent, settings.Threads ?? 1, settings.Mem, settings.Command);
            return SlurmBackend.Submit(sweep, options, settings.DryRun, Console.Out);
        }

        var (parallel, threads) = LocalBackend.Resolve(settings.Parallel, settings.Threads, Environment.ProcessorCount);
        SweepManifest.Read(sweep); // refuse a missing manifest before anything starts
        using var cancel = new CancellationTokenSource();
        using var signals = SweepTask.CancelOnTermination(cancel);
        var failed = new LocalBackend(sweep, parallel, threads, Console.Out).Run(cancel.Token);
        if (failed.Count > 0)
        {
            Console.Error.WriteLine($"error: {failed.Count} job(s) failed: {string.Join(", ", failed)}; see their .log files in {SweepFiles.Jobs(sweep)}, fix the cause and run the same command again.");
            return 1;
        }

        return 0;
    }
}

/// <summary><c>belieflens sweep task SWEEP --index I [--threads N]</c>: one job, under its lock (what a Slurm array task runs).</summary>
public sealed class SweepTaskCommand : SweepCommand<SweepTaskCommand.Settings>
{
    public sealed class Settings : SweepDirectorySettings
    {
        [CommandOption("--index <I>")]
        [Description("the job's index in manifest.jsonl (e.g. $SLURM_ARRAY_TASK_ID; required)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(0)]
        public int? Index { get; init; }

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: TorchSharp's choice)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        public override ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Index is null ? ValidationResult.Error("--index: name the job's index in manifest.jsonl.")
                : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        using var cancel = new CancellationTokenSource();
        using var signals = SweepTask.CancelOnTermination(cancel);
        var observer = new LineObserver();
        try
        {
            var outcome = SweepTask.Execute(settings.Sweep!, settings.Index!.Value, settings.Threads, observer, cancel.Token);
            Console.WriteLine(outcome switch
            {
                TaskOutcome.Finished => "done",
                TaskOutcome.AlreadyDone => "already done",
                _ => "skipped: another process holds this job",
            });
            return 0;
        }
        catch (TrainingDivergedException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    /// <summary>Plain lines (a log file or a Slurm output file, not a terminal).</summary>
    private sealed class LineObserver : IRunObserver
    {
        private DateTime _lastPrint = DateTime.MinValue;

        public void Stage(string name, string detail) => Console.WriteLine($"{name}: {detail}");

        public void Info(string message) => Console.WriteLine("  " + message);

        public void Training(TrainingProgress p)
        {
            if (p.Step != p.TotalSteps && p.ValidationLoss is null && DateTime.UtcNow - _lastPrint < TimeSpan.FromSeconds(30))
            {
                return;
            }

            _lastPrint = DateTime.UtcNow;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  step {p.Step}/{p.TotalSteps} loss {p.TrainLoss:F4} floor {p.LossFloor:F4}"));
        }
    }
}

/// <summary><c>belieflens sweep status SWEEP</c>: done, running, failed and pending, plus Slurm's view where it exists.</summary>
public sealed class SweepStatusCommand : SweepCommand<SweepStatusCommand.Settings>
{
    public sealed class Settings : SweepDirectorySettings
    {
        [CommandOption("--jobs")]
        [Description("also list every job with its state")]
        public bool Jobs { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        foreach (string line in SweepStatus.Lines(settings.Sweep!, settings.Jobs))
        {
            Console.WriteLine(line);
        }

        return 0;
    }
}

/// <summary><c>belieflens sweep collect SWEEP</c>: results.csv, results.parquet and the comparison report.html.</summary>
public sealed class SweepCollectCommand : SweepCommand<SweepCollectCommand.Settings>
{
    public sealed class Settings : SweepDirectorySettings
    {
        [CommandOption("--no-report")]
        [Description("write the tables only, skip report.html")]
        public bool NoReport { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string sweep = settings.Sweep!;
        var results = SweepResults.Collect(sweep);
        Console.WriteLine($"{results.Rows.Count(r => r.Done)}/{results.Rows.Count} jobs done");
        SweepResults.WriteParquet(results, SweepFiles.ResultsParquet(sweep));
        Console.WriteLine(SweepFiles.ResultsParquet(sweep));
        if (!settings.NoReport)
        {
            SweepComparison.Write(sweep, results);
            Console.WriteLine(SweepFiles.Report(sweep));
        }

        SweepResults.WriteCsv(results, SweepFiles.ResultsCsv(sweep));
        Console.WriteLine(SweepFiles.ResultsCsv(sweep));
        return 0;
    }
}
