namespace BeliefLens.Cli.Sweeps;

/// <summary><c>sweep status</c>: the job directories' view (done, running, failed, pending) and Slurm's, where it exists.</summary>
public static class SweepStatus
{
    public static IReadOnlyDictionary<JobState, int> Counts(string sweep, IReadOnlyList<SweepJob> jobs)
    {
        var counts = Enum.GetValues<JobState>().ToDictionary(s => s, _ => 0);
        foreach (var job in jobs)
        {
            counts[JobStates.Of(sweep, job)]++;
        }

        return counts;
    }

    public static IReadOnlyList<string> Lines(string sweep, bool perJob)
    {
        var jobs = SweepManifest.Read(sweep);
        var states = jobs.Select(j => (Job: j, State: JobStates.Of(sweep, j))).ToList();
        int Count(JobState s) => states.Count(x => x.State == s);
        var lines = new List<string>
        {
            $"{sweep}: {jobs.Count} jobs: {Count(JobState.Done)} done, {Count(JobState.Running)} running, {Count(JobState.Failed)} failed, {Count(JobState.Pending)} pending",
        };
        foreach (var (job, _) in states.Where(x => x.State == JobState.Failed))
        {
            string error = SweepTask.Attempts(sweep, job.Id).LastOrDefault()?["error"]?.GetValue<string>() ?? "see its log";
            lines.Add($"  failed: job {job.Index} ({job.Id}; {job.Describe()}): {error}");
        }

        if (perJob)
        {
            lines.AddRange(states.Select(x => $"  {x.Job.Index,5} {x.Job.Id} {x.State.ToString().ToLowerInvariant(),-8} {x.Job.Describe()}"));
        }

        var ids = SlurmBackend.SubmittedJobIds(sweep);
        if (ids.Count > 0)
        {
            lines.Add($"slurm: array jobs {string.Join(", ", ids)}");
            lines.Add("  squeue: " + Summarise(Tool.Run("squeue", ["-h", "-r", "-j", string.Join(',', ids), "-o", "%T"]), skipHeader: false));
            lines.Add("  sacct: " + Summarise(Tool.Run("sacct", ["-n", "-X", "-P", "-j", string.Join(',', ids), "-o", "State"]), skipHeader: false));
        }

        return lines;
    }

    /// <summary>Counts of the states a Slurm tool printed, one per line, e.g. <c>2 RUNNING, 1 PENDING</c>.</summary>
    private static string Summarise((int? Code, string Out, string Error) result, bool skipHeader)
    {
        if (result.Code is null)
        {
            return "not installed";
        }

        if (result.Code != 0)
        {
            return $"unavailable ({result.Error.Trim().Split('\n')[0]})";
        }

        var states = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Skip(skipHeader ? 1 : 0)
            .Select(s => s.Split(' ')[0])
            .GroupBy(s => s, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Count()} {g.Key}")
            .ToList();
        return states.Count == 0 ? "no tasks listed" : string.Join(", ", states);
    }
}
