using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BeliefLens.Core;
using Process = System.Diagnostics.Process;

namespace BeliefLens.Cli.Sweeps;

/// <summary>What <c>sweep run --backend slurm</c> asks of the cluster.</summary>
public sealed record SlurmOptions(string? Partition, string? Account, string? Time, int? MaxConcurrent, int CpusPerTask, string? Mem, string? Command);

/// <summary>
/// <c>sweep run --backend slurm</c>: writes <c>SWEEP/slurm/array.sbatch</c> (one array task per unfinished job,
/// each running <c>belieflens sweep task SWEEP --index $SLURM_ARRAY_TASK_ID</c>) and submits it with <c>sbatch</c>.
/// Each submission's job id is appended to <c>SWEEP/slurm/submissions.jsonl</c>.
/// </summary>
public static partial class SlurmBackend
{
    [GeneratedRegex(@"^[A-Za-z0-9_.:+,\-]+$")]
    private static partial Regex SafeValue();

    public static int Submit(string sweep, SlurmOptions options, bool dryRun, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(options);
        var jobs = SweepManifest.Read(sweep);
        var pending = jobs.Where(j => JobStates.Of(sweep, j) != JobState.Done).Select(j => j.Index).ToList();
        if (pending.Count == 0)
        {
            output.WriteLine($"all {jobs.Count} jobs are done; nothing to submit.");
            return 0;
        }

        string script = Script(sweep, pending, options);
        Directory.CreateDirectory(SweepFiles.SlurmLogs(sweep)); // Slurm does not create the --output directory
        AtomicFile.WriteText(SweepFiles.SlurmScript(sweep), script);
        if (dryRun)
        {
            output.Write(script);
            output.WriteLine($"# dry run: wrote {SweepFiles.SlurmScript(sweep)}, submitted nothing ({pending.Count} of {jobs.Count} jobs pending).");
            return 0;
        }

        var (code, stdout, stderr) = Tool.Run("sbatch", ["--parsable", SweepFiles.SlurmScript(sweep)]);
        if (code is null)
        {
            throw new BeliefLensInputException("--backend slurm: sbatch is not on PATH; run this on a Slurm login node, or use --dry-run to only write the script.");
        }

        if (code != 0)
        {
            throw new IOException($"sbatch failed (exit {code}): {stderr.Trim().Split('\n')[0]}");
        }

        string jobId = stdout.Trim().Split(';')[0];
        var record = new JsonObject
        {
            ["job_id"] = jobId,
            ["array"] = ArraySpec(pending, options.MaxConcurrent),
            ["tasks"] = pending.Count,
            ["submitted_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        File.AppendAllText(SweepFiles.SlurmSubmissions(sweep), record.ToJsonString() + "\n");
        output.WriteLine($"submitted array job {jobId}: {pending.Count} of {jobs.Count} jobs; follow with 'belieflens sweep status {sweep}'.");
        return 0;
    }

    public static string Script(string sweep, IReadOnlyList<int> indices, SlurmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Check("--partition", options.Partition);
        Check("--account", options.Account);
        Check("--time", options.Time);
        Check("--mem", options.Mem);
        string root = Path.GetFullPath(sweep);
        string command = options.Command ?? string.Join(' ', SelfCommand.Words().Select(Quote));
        if (command.Contains('\n', StringComparison.Ordinal))
        {
            throw new BeliefLensInputException("--command: must be one line.");
        }

        var sb = new StringBuilder();
        sb.Append("#!/bin/bash\n");
        sb.Append("# Written by 'belieflens sweep run --backend slurm': one array task per unfinished job of manifest.jsonl.\n");
        sb.Append("# SWEEP must sit on a filesystem every node sees; each task takes its job's lock, so a resubmission never runs a job twice.\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --job-name=belieflens-{JobName(root)}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --array={ArraySpec(indices, options.MaxConcurrent)}\n");
        sb.Append("#SBATCH --ntasks=1\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --cpus-per-task={options.CpusPerTask}\n");
        sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --output={Path.Combine(root, "slurm", "logs", "%A_%a.out")}\n");
        if (options.Partition is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --partition={options.Partition}\n");
        }

        if (options.Account is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --account={options.Account}\n");
        }

        if (options.Time is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --time={options.Time}\n");
        }

        if (options.Mem is not null)
        {
            sb.Append(CultureInfo.InvariantCulture, $"#SBATCH --mem={options.Mem}\n");
        }

        // Slurm sends SIGTERM before the time limit's SIGKILL: the task stops at its last checkpoint and a resubmission resumes it.
        sb.Append("#SBATCH --signal=TERM@60\n");
        sb.Append("set -euo pipefail\n");
        sb.Append(CultureInfo.InvariantCulture, $"export OMP_NUM_THREADS=\"${{SLURM_CPUS_PER_TASK:-{options.CpusPerTask}}}\"\n");
        sb.Append(CultureInfo.InvariantCulture, $"exec {command} sweep task {Quote(root)} --index \"$SLURM_ARRAY_TASK_ID\" --threads \"${{SLURM_CPUS_PER_TASK:-{options.CpusPerTask}}}\"\n");
        return sb.ToString();
    }

    /// <summary>Indices as Slurm ranges, e.g. <c>0-3,5,7-9%4</c>.</summary>
    public static string ArraySpec(IReadOnlyList<int> indices, int? maxConcurrent)
    {
        var parts = new List<string>();
        int k = 0;
        var sorted = indices.Order().ToArray();
        while (k < sorted.Length)
        {
            int start = sorted[k];
            while (k + 1 < sorted.Length && sorted[k + 1] == sorted[k] + 1)
            {
                k++;
            }

            parts.Add(start == sorted[k] ? start.ToString(CultureInfo.InvariantCulture) : $"{start}-{sorted[k]}");
            k++;
        }

        return string.Join(',', parts) + (maxConcurrent is int p ? $"%{p}" : string.Empty);
    }

    private static void Check(string option, string? value)
    {
        if (value is not null && !SafeValue().IsMatch(value))
        {
            throw new BeliefLensInputException($"{option}: '{value}' may hold only letters, digits and _ . : + , -.");
        }
    }

    private static string JobName(string root)
    {
        string name = new(Path.GetFileName(root.TrimEnd('/')).Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.').ToArray());
        return name.Length == 0 ? "sweep" : name;
    }

    /// <summary>Single-quotes a word for bash.</summary>
    public static string Quote(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '/' or '.' or '_' or '-' or '+' or ':' or '=')
            ? word
            : "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>The array job ids this sweep has submitted, oldest first.</summary>
    public static IReadOnlyList<string> SubmittedJobIds(string sweep)
    {
        string path = SweepFiles.SlurmSubmissions(sweep);
        if (!File.Exists(path))
        {
            return [];
        }

        var ids = new List<string>();
        foreach (string line in File.ReadLines(path))
        {
            try
            {
                if (JsonNode.Parse(line)?["job_id"]?.GetValue<string>() is { } id)
                {
                    ids.Add(id);
                }
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }

        return ids;
    }
}

/// <summary>Runs an external tool and captures its output; a tool that is not installed gives a null exit code.</summary>
internal static class Tool
{
    public static (int? Code, string Out, string Error) Run(string name, IEnumerable<string> args, int timeoutSeconds = 60)
    {
        var info = new ProcessStartInfo(name) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (null, string.Empty, $"{name}: not found");
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(timeoutSeconds)))
            {
                process.Kill(entireProcessTree: true);
                return (-1, stdout.Result, $"{name}: timed out after {timeoutSeconds} s");
            }

            return (process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
