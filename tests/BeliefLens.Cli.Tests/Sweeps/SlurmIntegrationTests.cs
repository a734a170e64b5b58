using System.Diagnostics;
using System.Globalization;
using BeliefLens.Cli.Sweeps;
using BeliefLens.Cli.Tests.Run;
using CliRunner = BeliefLens.Cli.Tests.Run.Cli;

namespace BeliefLens.Cli.Tests.Sweeps;

/// <summary>
/// A 4-job sweep through a real slurmctld (<c>.ci/slurm-up</c> starts a one-node cluster). Skipped, and reported as
/// skipped, when sbatch is not installed or no cluster answers.
/// </summary>
[Collection("Console")]
public sealed class SlurmIntegrationTests
{
    private static (int Code, string Out, string Error) Tool(string name, params string[] args)
    {
        var info = new ProcessStartInfo(name) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        try
        {
            using var process = Process.Start(info)!;
            string output = process.StandardOutput.ReadToEnd();
            string error = process.StandardError.ReadToEnd();
            process.WaitForExit();
            return (process.ExitCode, output, error);
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return (-1, string.Empty, $"{name} not found");
        }
    }

    [SkippableFact]
    public void FourJobSweepRunsThroughRealSbatchAndCollects()
    {
        var probe = Tool("sinfo", "-h", "-o", "%T");
        Skip.If(probe.Code == -1, "sbatch/sinfo are not installed (apt-get install slurm-wlm munge; .ci/slurm-up)");
        Skip.If(probe.Code != 0 || !probe.Out.Split('\n').Any(s => s.Trim() is "idle" or "mixed" or "allocated"),
            $"no Slurm cluster is up (sinfo: {(probe.Out + probe.Error).Trim()}); start one with .ci/slurm-up");

        using var temp = new TempDir();
        string sweep = temp.Combine("sweep");
        Assert.Equal(0, CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(temp, "axes:\n  training.seed: [1, 2]\n  process_params.x: [0.05, 0.15]\n"), "--out", sweep).Code);
        var jobs = SweepManifest.Read(sweep);

        // The dry-run script is one sbatch accepts.
        var (dry, _, dryError) = CliRunner.Run("sweep", "run", sweep, "--backend", "slurm", "--dry-run", "--max-concurrent", "2", "--time", "00:10:00");
        Assert.True(dry == 0, dryError);
        var testOnly = Tool("sbatch", "--test-only", SweepFiles.SlurmScript(sweep));
        Assert.True(testOnly.Code == 0, $"sbatch --test-only rejected the script: {testOnly.Error}");
        Assert.False(File.Exists(SweepFiles.SlurmSubmissions(sweep)));

        var (code, output, error) = CliRunner.Run("sweep", "run", sweep, "--backend", "slurm", "--max-concurrent", "2", "--time", "00:10:00");
        Assert.True(code == 0, error);
        var ids = SlurmBackend.SubmittedJobIds(sweep);
        string jobId = Assert.Single(ids);
        Assert.Contains($"submitted array job {jobId}: 4 of 4 jobs", output, StringComparison.Ordinal);

        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (jobs.Any(j => JobStates.Of(sweep, j) != JobState.Done) && DateTime.UtcNow < deadline)
        {
            if (jobs.Any(j => JobStates.Of(sweep, j) == JobState.Failed))
            {
                break;
            }

            Thread.Sleep(1000);
        }

        var (statusCode, status, _) = CliRunner.Run("sweep", "status", sweep);
        Assert.Equal(0, statusCode);
        string logs = string.Join("\n", Directory.Exists(SweepFiles.SlurmLogs(sweep)) ? Directory.GetFiles(SweepFiles.SlurmLogs(sweep)).Select(f => File.ReadAllText(f)) : []);
        Assert.True(jobs.All(j => JobStates.Of(sweep, j) == JobState.Done), $"status: {status}\nlogs: {logs}");
        Assert.Contains("4 jobs: 4 done", status, StringComparison.Ordinal);
        Assert.Contains($"slurm: array jobs {jobId}", status, StringComparison.Ordinal);

        // Every job ran once, inside the array job that was submitted.
        foreach (var job in jobs)
        {
            var attempts = SweepTask.Attempts(sweep, job.Id);
            Assert.Equal(["start", "done"], attempts.Select(a => a["event"]!.GetValue<string>()));
            Assert.StartsWith(jobId + "_", attempts[0]["slurm_job"]!.GetValue<string>(), StringComparison.Ordinal);
        }

        var (collect, collectOut, collectError) = CliRunner.Run("sweep", "collect", sweep, "--no-report");
        Assert.True(collect == 0, collectError);
        Assert.Equal(SweepFiles.ResultsCsv(sweep), collectOut.Trim().Split('\n')[^1]);
        var lines = File.ReadAllLines(SweepFiles.ResultsCsv(sweep));
        Assert.Equal(5, lines.Length);
        foreach (string line in lines.Skip(1))
        {
            var cells = line.Split(',');
            Assert.Equal(2560, long.Parse(cells[5], CultureInfo.InvariantCulture));
            Assert.All(cells.Skip(3), c => Assert.True(double.IsFinite(double.Parse(c, CultureInfo.InvariantCulture)), line));
        }

        // Resubmitting a finished sweep submits nothing.
        var (resubmit, resubmitOut, _) = CliRunner.Run("sweep", "run", sweep, "--backend", "slurm");
        Assert.Equal(0, resubmit);
        Assert.Contains("nothing to submit", resubmitOut, StringComparison.Ordinal);
    }
}
