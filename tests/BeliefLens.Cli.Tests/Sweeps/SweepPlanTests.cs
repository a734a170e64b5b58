using System.Text.Json.Nodes;
using BeliefLens.Cli.Run;
using BeliefLens.Cli.Sweeps;
using BeliefLens.Cli.Tests.Run;
using CliRunner = BeliefLens.Cli.Tests.Run.Cli;

namespace BeliefLens.Cli.Tests.Sweeps;

/// <summary>sweep plan: stable manifests, the expansion, and every refusal before a job runs.</summary>
[Collection("Console")]
public sealed class SweepPlanTests
{
    private const string Grid = "axes:\n  training.seed: [1, 2, 3]\n  process_params.x: [0.05, 0.15]\n";

    [Fact]
    public void SamePlanIsByteIdenticalInTwoDirectories()
    {
        using var a = new TempDir();
        using var b = new TempDir();
        var (codeA, outA, errA) = CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(a, Grid), "--out", a.Combine("sweep"));
        var (codeB, _, errB) = CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(b, Grid), "--out", b.Combine("sweep"));
        Assert.True(codeA == 0, errA);
        Assert.True(codeB == 0, errB);
        Assert.Equal(SweepManifest.PathIn(a.Combine("sweep")), outA.Trim().Split('\n')[^1]);
        byte[] first = File.ReadAllBytes(SweepManifest.PathIn(a.Combine("sweep")));
        Assert.Equal(first, File.ReadAllBytes(SweepManifest.PathIn(b.Combine("sweep"))));

        // Each id is the SHA-256 of the resolved experiment's canonical JSON, so it is recomputable from the line itself.
        var jobs = SweepManifest.Read(a.Combine("sweep"));
        Assert.Equal(6, jobs.Count);
        foreach (var job in jobs)
        {
            Assert.Equal(SweepManifest.JobId(job.Experiment().ToJson()), job.Id);
            Assert.Equal(job.Experiment().ToJson().ToJsonString(), job.ExperimentJson.ToJsonString());
        }

        // Last axis fastest; the overrides are what the experiment holds.
        Assert.Equal([1L, 1, 2, 2, 3, 3], jobs.Select(j => (long)j.Experiment().Training.Seed));
        Assert.Equal([0.05, 0.15, 0.05, 0.15, 0.05, 0.15], jobs.Select(j => j.Experiment().ProcessParameters["x"]));
        Assert.Equal(["training.seed", "process_params.x"], SweepManifest.AxisPaths(jobs));

        // Re-planning the same spec leaves the manifest as it is.
        var (again, outAgain, _) = CliRunner.Run("sweep", "plan", a.Combine("spec.yaml"), "--out", a.Combine("sweep"));
        Assert.Equal(0, again);
        Assert.Contains("unchanged", outAgain, StringComparison.Ordinal);
    }

    [Fact]
    public void JsonAndYamlSpecsGiveTheSameManifest()
    {
        using var temp = new TempDir();
        SweepFixture.WriteSpec(temp, Grid);
        File.WriteAllText(temp.Combine("spec.json"), """{"base": "tiny.json", "axes": {"training.seed": [1, 2, 3], "process_params.x": [0.05, 0.15]}}""");
        var yaml = SweepManifest.Plan(SweepSpec.Load(temp.Combine("spec.yaml")));
        var json = SweepManifest.Plan(SweepSpec.Load(temp.Combine("spec.json")));
        Assert.Equal(SweepManifest.Render(yaml), SweepManifest.Render(json));
    }

    [Fact]
    public void RunsCombineWithEveryPointOfTheAxes()
    {
        using var temp = new TempDir();
        string spec = SweepFixture.WriteSpec(temp, "runs:\n  - {process: mess3}\n  - {process: rrxor, model.d_vocab: 2, process_params: {}}\naxes:\n  model.n_layers: [1, 2]\n");
        var jobs = SweepManifest.Plan(SweepSpec.Load(spec));
        Assert.Equal(4, jobs.Count);
        Assert.Equal(["mess3", "mess3", "rrxor", "rrxor"], jobs.Select(j => j.Experiment().ProcessSpec));
        Assert.Equal([1, 2, 1, 2], jobs.Select(j => j.Experiment().Model.NLayers));

        // Default probe sites follow each job's own depth.
        Assert.Contains("blocks.1.hook_resid_post", jobs[1].Experiment().Probe.Sites);
        Assert.DoesNotContain("blocks.1.hook_resid_post", jobs[0].Experiment().Probe.Sites);
    }

    [Theory]
    [InlineData("axes:\n  trainin.seed: [1, 2]\n", "axes.trainin.seed: unknown path")]
    [InlineData("axes:\n  training.sede: [1, 2]\n", "job 0 (training.sede=1): training")]
    [InlineData("axes:\n  training.steps: [40, -5]\n", "job 1 (training.steps=-5): training.steps")]
    [InlineData("axes:\n  process_params.x: [0.05, oops]\n", "job 1 (process_params.x=\"oops\"): process_params.x")]
    [InlineData("axes:\n  training.seed: []\n", "axes.training.seed: the axis is empty")]
    [InlineData("axes:\n  training.seed: [1, 2, 1]\n", "job 2 (training.seed=1): duplicates job 0")]
    [InlineData("runs: []\n", "spec: zero jobs")]
    [InlineData("", "spec: zero jobs")]
    [InlineData("axis:\n  training.seed: [1]\n", "spec.axis: unknown key")]
    public void BadSpecsAreRefusedInOneLineNamingTheJobAndField(string body, string expected)
    {
        using var temp = new TempDir();
        var (code, _, error) = CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(temp, body), "--out", temp.Combine("sweep"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(SweepManifest.PathIn(temp.Combine("sweep"))), "a refused spec wrote a manifest");
    }

    [Fact]
    public void MoreThanTenThousandJobsNeedMaxJobs()
    {
        using var temp = new TempDir();
        string values = "[" + string.Join(", ", Enumerable.Range(1, 101)) + "]";
        string spec = SweepFixture.WriteSpec(temp, $"axes:\n  training.seed: {values}\n  training.steps: [{string.Join(", ", Enumerable.Range(1, 100))}]\n");
        var (code, _, error) = CliRunner.Run("sweep", "plan", spec, "--out", temp.Combine("sweep"));
        Assert.Equal(2, code);
        Assert.Contains("10,100 jobs exceed the limit of 10,000; pass --max-jobs 10100", error, StringComparison.Ordinal);

        // With a limit high enough the same spec is planned (the count alone was the problem).
        var jobs = SweepManifest.Plan(SweepSpec.Load(spec), maxJobs: 10_100);
        Assert.Equal(10_100, jobs.Count);
        Assert.Equal(10_100, jobs.Select(j => j.Id).Distinct().Count());
    }

    [Fact]
    public void ADifferentManifestIsNotOverwrittenWithoutReplace()
    {
        using var temp = new TempDir();
        string sweep = temp.Combine("sweep");
        Assert.Equal(0, CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(temp, Grid), "--out", sweep).Code);
        byte[] before = File.ReadAllBytes(SweepManifest.PathIn(sweep));
        string other = SweepFixture.WriteSpec(temp, "axes:\n  training.seed: [9]\n", "other.yaml");
        var (code, _, error) = CliRunner.Run("sweep", "plan", other, "--out", sweep);
        Assert.Equal(2, code);
        Assert.Contains("--replace", error, StringComparison.Ordinal);
        Assert.Equal(before, File.ReadAllBytes(SweepManifest.PathIn(sweep)));
        Assert.Equal(0, CliRunner.Run("sweep", "plan", other, "--out", sweep, "--replace").Code);
        Assert.Single(SweepManifest.Read(sweep));
    }

    [Fact]
    public void SlurmArraySpecCompressesRangesAndCapsConcurrency()
    {
        Assert.Equal("0-3%2", SlurmBackend.ArraySpec([0, 1, 2, 3], 2));
        Assert.Equal("0,2-4,7", SlurmBackend.ArraySpec([7, 0, 2, 3, 4], null));
    }

    [Fact]
    public void DryRunWritesTheScriptAndSubmitsNothing()
    {
        using var temp = new TempDir();
        string sweep = temp.Combine("sweep");
        Assert.Equal(0, CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(temp, Grid), "--out", sweep).Code);
        var (code, output, error) = CliRunner.Run("sweep", "run", sweep, "--backend", "slurm", "--dry-run", "--max-concurrent", "2", "--threads", "2", "--partition", "cpu", "--account", "lab", "--time", "01:00:00");
        Assert.True(code == 0, error);
        string script = File.ReadAllText(SweepFiles.SlurmScript(sweep));
        Assert.Contains(script, output, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --array=0-5%2\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --cpus-per-task=2\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --partition=cpu\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --account=lab\n", script, StringComparison.Ordinal);
        Assert.Contains("#SBATCH --time=01:00:00\n", script, StringComparison.Ordinal);
        Assert.Contains("sweep task " + Path.GetFullPath(sweep) + " --index \"$SLURM_ARRAY_TASK_ID\"", script, StringComparison.Ordinal);
        Assert.False(File.Exists(SweepFiles.SlurmSubmissions(sweep)));

        var (bad, _, badError) = CliRunner.Run("sweep", "run", sweep, "--backend", "slurm", "--dry-run", "--partition", "cpu\n#SBATCH --x");
        Assert.Equal(2, bad);
        Assert.Contains("--partition", badError, StringComparison.Ordinal);
    }

    [Fact]
    public void LocalBackendNeverOversubscribesByDefault()
    {
        Assert.Equal((2, 1), LocalBackend.Resolve(null, null, 2));
        Assert.Equal((1, 2), LocalBackend.Resolve(null, 2, 2));
        var ex = Assert.Throws<Core.BeliefLensInputException>(() => LocalBackend.Resolve(2, 2, 2));
        Assert.StartsWith("--parallel: 2 jobs × 2 thread(s) exceed the 2 cores", ex.Message, StringComparison.Ordinal);
    }
}
