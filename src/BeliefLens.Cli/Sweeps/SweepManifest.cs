using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Core;

namespace BeliefLens.Cli.Sweeps;

/// <summary>One job of a sweep: its stable id, its place in the manifest, its overrides and the resolved experiment.</summary>
public sealed record SweepJob(string Id, int Index, IReadOnlyList<(string Path, JsonNode? Value)> Overrides, JsonObject ExperimentJson)
{
    /// <summary>The overrides as <c>path=value</c>, for messages.</summary>
    public string Describe() => Overrides.Count == 0 ? "no overrides" : string.Join(", ", Overrides.Select(o => $"{o.Path}={o.Value?.ToJsonString() ?? "null"}"));

    public Experiment Experiment() => Run.Experiment.FromJson((JsonObject)ExperimentJson.DeepClone());

    public string ToManifestLine()
    {
        var overrides = new JsonObject();
        foreach (var (path, value) in Overrides)
        {
            overrides[path] = value?.DeepClone();
        }

        return new JsonObject
        {
            ["id"] = Id,
            ["index"] = Index,
            ["overrides"] = overrides,
            ["experiment"] = ExperimentJson.DeepClone(),
        }.ToJsonString();
    }
}

/// <summary>
/// <c>SWEEP/manifest.jsonl</c>: one compact JSON line per job. A job's id is the first 12 hex digits of the SHA-256
/// of its resolved experiment's canonical JSON (field order fixed by <see cref="Experiment.ToJson"/>, numbers in
/// shortest round-trip form, UTF-8, no whitespace), so the same spec gives the same file on any machine on any day.
/// </summary>
public static class SweepManifest
{
    public const int DefaultMaxJobs = 10_000;

    public static string PathIn(string sweep) => Path.Combine(sweep, "manifest.jsonl");

    public static string JobId(JsonObject resolvedExperiment)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(resolvedExperiment.ToJsonString()));
        return Convert.ToHexStringLower(hash)[..12];
    }

    /// <summary>Expands and resolves every job; refuses bad input before anything runs, naming the job and the field.</summary>
    public static IReadOnlyList<SweepJob> Plan(SweepSpec spec, long maxJobs = DefaultMaxJobs)
    {
        ArgumentNullException.ThrowIfNull(spec);
        long count;
        try
        {
            count = spec.JobCount;
        }
        catch (OverflowException)
        {
            count = long.MaxValue;
        }

        if (count == 0)
        {
            throw new BeliefLensInputException("spec: zero jobs; give axes (path: [values]) and/or a non-empty runs list.");
        }

        if (count > maxJobs)
        {
            throw new BeliefLensInputException($"spec: {count:N0} jobs exceed the limit of {maxJobs:N0}; pass --max-jobs {count} if you mean it.");
        }

        var jobs = new List<SweepJob>();
        var byId = new Dictionary<string, SweepJob>(StringComparer.Ordinal);
        foreach (var overrides in spec.Expand())
        {
            int index = jobs.Count;
            var json = (JsonObject)spec.BaseExperiment.DeepClone();
            var job = new SweepJob(string.Empty, index, overrides, json);
            JsonObject resolved;
            try
            {
                foreach (var (path, value) in overrides)
                {
                    Experiment.ApplyOverride(json, $"{path}={value?.ToJsonString() ?? "null"}");
                }

                resolved = Experiment.FromJson(json).ToJson();
            }
            catch (BeliefLensInputException ex)
            {
                throw new BeliefLensInputException($"job {index} ({job.Describe()}): {ex.Message}");
            }
            catch (Exception ex) when (ex is InvalidOperationException or FormatException or ArgumentException)
            {
                throw new BeliefLensInputException($"job {index} ({job.Describe()}): invalid value: {ex.Message}");
            }

            job = job with { Id = JobId(resolved), ExperimentJson = resolved };
            if (byId.TryGetValue(job.Id, out var first))
            {
                throw new BeliefLensInputException($"job {index} ({job.Describe()}): duplicates job {first.Index} ({first.Describe()}); both resolve to the same experiment.");
            }

            byId[job.Id] = job;
            jobs.Add(job);
        }

        return jobs;
    }

    public static string Render(IReadOnlyList<SweepJob> jobs) => string.Concat(jobs.Select(j => j.ToManifestLine() + "\n"));

    /// <summary>Writes the manifest atomically. An existing, different manifest is kept unless <paramref name="replace"/>.</summary>
    public static bool Write(string sweep, IReadOnlyList<SweepJob> jobs, bool replace)
    {
        Directory.CreateDirectory(sweep);
        string path = PathIn(sweep);
        string text = Render(jobs);
        if (File.Exists(path))
        {
            string existing = File.ReadAllText(path);
            if (existing == text)
            {
                return false;
            }

            if (!replace)
            {
                throw new BeliefLensInputException($"--out {sweep}: holds a different manifest; pass --replace to overwrite it (finished jobs with unchanged ids are kept) or choose another directory.");
            }
        }

        AtomicFile.WriteText(path, text);
        return true;
    }

    public static IReadOnlyList<SweepJob> Read(string sweep)
    {
        string path = PathIn(sweep);
        if (!File.Exists(path))
        {
            throw new BeliefLensInputException($"SWEEP: '{sweep}' has no manifest.jsonl; run 'belieflens sweep plan SPEC --out {sweep}' first.");
        }

        var jobs = new List<SweepJob>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                var obj = JsonNode.Parse(line)!.AsObject();
                var overrides = obj["overrides"]!.AsObject().Select(kv => (kv.Key, kv.Value?.DeepClone())).ToList();
                jobs.Add(new SweepJob(obj["id"]!.GetValue<string>(), obj["index"]!.GetValue<int>(), overrides, obj["experiment"]!.AsObject()));
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or NullReferenceException)
            {
                throw new BeliefLensInputException($"{path}: line {lineNumber} is not a manifest line; re-run 'sweep plan'.");
            }
        }

        return jobs;
    }

    /// <summary>The override paths of the sweep in order of first appearance: the columns of the results table.</summary>
    public static IReadOnlyList<string> AxisPaths(IReadOnlyList<SweepJob> jobs) =>
        jobs.SelectMany(j => j.Overrides.Select(o => o.Path)).Distinct(StringComparer.Ordinal).ToArray();
}

/// <summary>Temp file, then rename: a reader never sees a half-written file.</summary>
internal static class AtomicFile
{
    public static void WriteText(string path, string text)
    {
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    public static void WriteBytes(string path, Action<Stream> write)
    {
        string temp = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = File.Create(temp))
        {
            write(stream);
        }

        File.Move(temp, path, overwrite: true);
    }
}
