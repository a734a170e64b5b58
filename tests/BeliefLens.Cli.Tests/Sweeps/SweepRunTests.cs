using System.Globalization;
using BeliefLens.Cli.Sweeps;
using BeliefLens.Cli.Tests.Run;
using CliRunner = BeliefLens.Cli.Tests.Run.Cli;
using Parquet;

namespace BeliefLens.Cli.Tests.Sweeps;

/// <summary>The local backend: a sweep killed mid-way resumes without doing any job twice, and equals a serial run bit for bit.</summary>
[Collection("Console")]
public sealed class SweepRunTests
{
    private const string SixJobs = "axes:\n  training.seed: [1, 2, 3]\n  process_params.x: [0.05, 0.15]\n";

    [Fact]
    public async Task KilledSweepResumesEachJobOnceAndMatchesASerialRunBitForBit()
    {
        using var temp = new TempDir();
        string spec = SweepFixture.WriteSpec(temp, SixJobs);
        string sweep = temp.Combine("parallel");
        Assert.Equal(0, CliRunner.Run("sweep", "plan", spec, "--out", sweep).Code);
        var jobs = SweepManifest.Read(sweep);

        // Kill the whole process tree while one job is done and another is mid-job. A tiny job can finish between
        // the check and the kill; then no job died mid-job, so run and kill again until one does.
        for (int round = 1; !AnyKilledMidJob(sweep, jobs); round++)
        {
            Assert.True(round <= 4, "no kill landed mid-job in 4 rounds");
            await RunAndKillMidJob(sweep, jobs);
        }

        var doneBeforeKill = jobs.Where(j => JobRunFiles.IsDone(SweepFiles.JobDir(sweep, j.Id))).Select(j => j.Id).ToHashSet();
        Assert.InRange(doneBeforeKill.Count, 1, jobs.Count - 1);
        var eventsAtKill = jobs.ToDictionary(j => j.Id, j => SweepTask.Attempts(sweep, j.Id).Select(e => e.ToJsonString()).ToList());

        var (code, output, error) = SweepFixture.RunToEnd(TimeSpan.FromMinutes(3), "sweep", "run", sweep, "--backend", "local", "--parallel", "2", "--threads", "1");
        Assert.True(code == 0, output + error);
        Assert.Contains($"{doneBeforeKill.Count} already done", output, StringComparison.Ordinal);

        foreach (var job in jobs)
        {
            var events = SweepTask.Attempts(sweep, job.Id).Select(e => e["event"]!.GetValue<string>()).ToList();
            Assert.True(events.Count(e => e == "done") == 1, $"job {job.Id}: {string.Join(",", events)}");
            Assert.Equal("done", events[^1]);
            if (doneBeforeKill.Contains(job.Id))
            {
                // Not touched after the kill.
                Assert.Equal(eventsAtKill[job.Id], SweepTask.Attempts(sweep, job.Id).Select(e => e.ToJsonString()).ToList());
            }

            // Attempts never overlap: each start follows the previous attempt's end or its death (no end line).
            var starts = SweepTask.Attempts(sweep, job.Id).Where(e => e["event"]!.GetValue<string>() == "start").Select(e => e["pid"]!.GetValue<int>()).ToList();
            Assert.Equal(starts.Count, starts.Distinct().Count());
        }

        // The same manifest run serially in another directory gives the same metrics to the last bit.
        string serial = temp.Combine("serial");
        Directory.CreateDirectory(serial);
        File.Copy(SweepManifest.PathIn(sweep), SweepManifest.PathIn(serial));
        var (serialCode, serialOut, serialError) = SweepFixture.RunToEnd(TimeSpan.FromMinutes(4), "sweep", "run", serial, "--backend", "local", "--parallel", "1", "--threads", "1");
        Assert.True(serialCode == 0, serialOut + serialError);

        var (c1, out1, e1) = CliRunner.Run("sweep", "collect", sweep);
        var (c2, _, e2) = CliRunner.Run("sweep", "collect", serial, "--no-report");
        Assert.True(c1 == 0, e1);
        Assert.True(c2 == 0, e2);
        Assert.Equal(SweepFiles.ResultsCsv(sweep), out1.Trim().Split('\n')[^1]);
        Assert.Equal(SweepFixture.MetricsOf(SweepFiles.ResultsCsv(serial)), SweepFixture.MetricsOf(SweepFiles.ResultsCsv(sweep)));

        CheckTable(sweep, jobs);
        await CheckParquetMatchesCsv(sweep);
        CheckReport(sweep);

        // A second run has nothing left to do.
        var (again, againOut, _) = CliRunner.Run("sweep", "status", sweep);
        Assert.Equal(0, again);
        Assert.Contains("6 jobs: 6 done, 0 running, 0 failed, 0 pending", againOut, StringComparison.Ordinal);
    }

    private static bool AnyKilledMidJob(string sweep, IReadOnlyList<SweepJob> jobs) =>
        jobs.Any(j => JobStates.Of(sweep, j) == JobState.Pending && SweepTask.Attempts(sweep, j.Id).Count > 0);

    private static async Task RunAndKillMidJob(string sweep, IReadOnlyList<SweepJob> jobs)
    {
        using (var run = SweepFixture.Start("sweep", "run", sweep, "--backend", "local", "--parallel", "2", "--threads", "1"))
        {
            var deadline = DateTime.UtcNow.AddMinutes(2);
            bool Ready() =>
                jobs.Any(j => JobRunFiles.IsDone(SweepFiles.JobDir(sweep, j.Id)))
                && jobs.Any(j => !JobRunFiles.IsDone(SweepFiles.JobDir(sweep, j.Id)) && SweepTask.Attempts(sweep, j.Id).Count > 0);
            while (!Ready() && DateTime.UtcNow < deadline && !run.HasExited)
            {
                await Task.Delay(100);
            }

            Assert.False(run.HasExited, "the sweep ended before it could be killed");
            run.Kill(entireProcessTree: true);
            run.WaitForExit();
        }

        // The kernel releases a killed child's lock when it is reaped, which can lag on a loaded machine.
        var released = DateTime.UtcNow.AddSeconds(30);
        while (jobs.Any(j => JobStates.Of(sweep, j) == JobState.Running) && DateTime.UtcNow < released)
        {
            await Task.Delay(100);
        }
    }

    private static void CheckTable(string sweep, IReadOnlyList<SweepJob> jobs)
    {
        var lines = File.ReadAllLines(SweepFiles.ResultsCsv(sweep));
        var header = lines[0].Split(',');
        Assert.Equal(["id", "training.seed", "process_params.x", "validation_loss", "loss_floor", "tokens", "wall_seconds"], header[..7]);
        Assert.Contains("blocks.0.hook_resid_post.mse_heldout", header);
        Assert.Contains("concat.r2_heldout", header);
        Assert.Equal(jobs.Count + 1, lines.Length);
        for (int k = 0; k < jobs.Count; k++)
        {
            var cells = lines[k + 1].Split(',');
            Assert.Equal(jobs[k].Id, cells[0]);
            Assert.Equal(jobs[k].Experiment().Training.Seed.ToString(CultureInfo.InvariantCulture), cells[1]);
            Assert.Equal(40L * 16 * 4, long.Parse(cells[5], CultureInfo.InvariantCulture));
            double loss = double.Parse(cells[3], CultureInfo.InvariantCulture);
            double floor = double.Parse(cells[4], CultureInfo.InvariantCulture);
            Assert.True(loss >= floor - 1e-6, $"job {k}: loss {loss} below floor {floor}");
        }

        // x = 0.15 is a noisier Mess3: a higher loss floor than x = 0.05, the same for every seed.
        var floors = lines.Skip(1).Select(l => l.Split(',')).GroupBy(c => c[2]).ToDictionary(g => g.Key, g => g.Select(c => c[4]).Distinct().Single());
        Assert.True(double.Parse(floors["0.15"], CultureInfo.InvariantCulture) > double.Parse(floors["0.05"], CultureInfo.InvariantCulture));
    }

    private static async Task CheckParquetMatchesCsv(string sweep)
    {
        var csv = File.ReadAllLines(SweepFiles.ResultsCsv(sweep)).Select(l => l.Split(',')).ToArray();
        await using var reader = await ParquetReader.CreateAsync(SweepFiles.ResultsParquet(sweep));
        var fields = reader.Schema.GetDataFields();
        Assert.Equal(csv[0], fields.Select(f => f.Name));
        using var group = reader.OpenRowGroupReader(0);
        int rows = csv.Length - 1;
        var ids = new string?[rows];
        await group.ReadAsync(fields[0], ids.AsMemory());
        Assert.Equal(csv.Skip(1).Select(c => c[0]), ids);
        int lossColumn = Array.IndexOf(csv[0], "validation_loss");
        var losses = new double?[rows];
        await group.ReadAsync(fields[lossColumn], losses.AsMemory());
        Assert.Equal(csv.Skip(1).Select(c => double.Parse(c[lossColumn], CultureInfo.InvariantCulture)), losses.Select(v => v!.Value));
    }

    private static void CheckReport(string sweep)
    {
        string html = File.ReadAllText(SweepFiles.Report(sweep));
        Assert.Contains("Headline metrics against each axis", html, StringComparison.Ordinal);
        Assert.Contains("Probe error against tokens seen", html, StringComparison.Ordinal);
        Assert.Contains("Final predicted geometry of every job", html, StringComparison.Ordinal);
        Assert.Equal(3, html.Split("data:image/png;base64,").Length - 1);
        Assert.DoesNotContain("src=\"figures/", html, StringComparison.Ordinal);
    }

    [Fact]
    public void ATaskLeavesAJobAloneWhileAnotherProcessHoldsItsLock()
    {
        using var temp = new TempDir();
        string sweep = temp.Combine("sweep");
        Assert.Equal(0, CliRunner.Run("sweep", "plan", SweepFixture.WriteSpec(temp, "axes:\n  training.seed: [1]\n"), "--out", sweep).Code);
        var job = SweepManifest.Read(sweep)[0];

        // Another process holds the lock.
        using (var holder = SweepFixture.Start("sweep", "task", sweep, "--index", "0", "--threads", "1"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (SweepTask.Attempts(sweep, job.Id).Count == 0 && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }

            Assert.Equal(JobState.Running, JobStates.Of(sweep, job));
            var (code, output, _) = CliRunner.Run("sweep", "task", sweep, "--index", "0");
            Assert.Equal(0, code);
            Assert.Contains("another process holds this job", output, StringComparison.Ordinal);
            Assert.Single(SweepTask.Attempts(sweep, job.Id)); // only the holder's start
            holder.WaitForExit();
            Assert.Equal(0, holder.ExitCode);
        }

        Assert.Equal(JobState.Done, JobStates.Of(sweep, job));
        var (again, againOut, _) = CliRunner.Run("sweep", "task", sweep, "--index", "0");
        Assert.Equal(0, again);
        Assert.Contains("already done", againOut, StringComparison.Ordinal);
        Assert.Equal(["start", "done"], SweepTask.Attempts(sweep, job.Id).Select(e => e["event"]!.GetValue<string>()));

        var (bad, _, badError) = CliRunner.Run("sweep", "task", sweep, "--index", "5");
        Assert.Equal(2, bad);
        Assert.Contains("--index: 5 is outside the manifest's jobs 0..0", badError, StringComparison.Ordinal);
    }
}
