using System.Reflection;
using System.Text.Json;
using BeliefLens.Cli.Tests.Run;

namespace BeliefLens.Cli.Tests;

/// <summary>A tiny finished run (1 layer, n_ctx 4, 40 steps), made once for the intervene and dimension command tests.</summary>
public sealed class TinyRunFixture : IDisposable
{
    private readonly TempDir _temp = new();

    public TinyRunFixture()
    {
        string experiment = _temp.Combine("tiny.json");
        File.WriteAllText(experiment, TinyExperiment.Json().ToJsonString());
        RunDir = _temp.Combine("run");
        var (code, _, error) = Tests.Run.Cli.Run("run", experiment, "--out", RunDir);
        Assert.True(code == 0, error);
    }

    public string RunDir { get; }

    public string Combine(string name) => _temp.Combine(name);

    public void Dispose() => _temp.Dispose();
}

/// <summary>The intervene and dimension commands end to end, and their one-line errors.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class CausalCommandTests(TinyRunFixture run) : IClassFixture<TinyRunFixture>
{
    private static void AssertOneLineError((int Code, string Out, string Error) result, string expected)
    {
        Assert.Equal(2, result.Code);
        string line = result.Error.TrimEnd('\n');
        Assert.DoesNotContain('\n', line);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line, StringComparison.Ordinal); // no stack trace
    }

    [Fact]
    public void InterveneRefusesBadInputInOneLine()
    {
        string outDir = run.Combine("bad");
        AssertOneLineError(Tests.Run.Cli.Run("intervene", run.RunDir, "--site", "blocks.7.hook_resid_post", "--out", outDir), "--site: 'blocks.7.hook_resid_post' is not a d_model-wide hook site");
        AssertOneLineError(Tests.Run.Cli.Run("intervene", run.RunDir, "--site", "blocks.0.hook_resid_mid", "--out", outDir), "--site: no probe for blocks.0.hook_resid_mid");
        AssertOneLineError(Tests.Run.Cli.Run("intervene", run.RunDir, "--pairs", "0", "--out", outDir), "--pairs: 0 is outside");
        AssertOneLineError(Tests.Run.Cli.Run("intervene", run.RunDir), "--out: is required");
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void InterveneWritesTheContractFields()
    {
        string outDir = run.Combine("steer");
        var (code, _, error) = Tests.Run.Cli.Run("intervene", run.RunDir, "--pairs", "24", "--out", outDir);
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "interventions.json")));
        var sites = json.RootElement.GetProperty("sites").EnumerateArray().ToList();
        Assert.NotEmpty(sites);
        foreach (var site in sites)
        {
            foreach (string field in new[] { "site", "pairs", "kl_before_mean", "kl_after_mean", "gap_closed_mean", "gap_closed_random", "gap_closed_orthogonal", "gap_closed_full_patch", "gap_closed_encoding", "gap_closed_encoding_random" })
            {
                Assert.True(site.TryGetProperty(field, out _), field);
            }

            Assert.Equal(24, site.GetProperty("pairs").GetInt32());
            Assert.InRange(site.GetProperty("probe_reading_error_max").GetDouble(), 0, 1e-9);
            Assert.InRange(site.GetProperty("probe_reading_error_orthogonal_max").GetDouble(), 0, 1e-9);
        }

        Assert.Equal("ln_final.hook_normalized", sites[^1].GetProperty("site").GetString());
        Assert.Equal(1.0, sites[^1].GetProperty("gap_closed_full_patch_toward_model_b").GetDouble(), 6);
        Assert.True(File.Exists(Path.Combine(outDir, "figures", "intervention-gap-by-site.png")));
        Assert.Contains("intervention-gap-by-site.png", File.ReadAllText(Path.Combine(outDir, "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void DimensionOfARunMeasuresThePredictedCloudAndTheReportShowsIt()
    {
        var (code, output, error) = Tests.Run.Cli.Run("dimension", run.RunDir, "--steps", "20000", "--depth", "8");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.Equal("blocks.0.hook_resid_post", root.GetProperty("site").GetString());
        Assert.True(root.GetProperty("probe_rmse").GetDouble() > 0);
        Assert.Equal(root.GetProperty("probe_rmse").GetDouble(), root.GetProperty("window_predicted").GetProperty("lower").GetDouble());
        Assert.True(File.Exists(Path.Combine(run.RunDir, "dimension.json")));
        var (reportCode, _, reportError) = Tests.Run.Cli.Run("report", run.RunDir);
        Assert.True(reportCode == 0, reportError);
        Assert.True(File.Exists(Path.Combine(run.RunDir, "figures", "dimension-box-counts.png")));
        Assert.Contains("Fractal dimension of the belief geometry", File.ReadAllText(Path.Combine(run.RunDir, "report.html")), StringComparison.Ordinal);
    }

    [Fact]
    public void DimensionOfAProbeFolderKeepsEachPrefixOnce()
    {
        string checkpoint = Directory.GetFiles(Path.Combine(run.RunDir, "checkpoints"), "step_*.pt").Where(f => !f.EndsWith(".optim.pt", StringComparison.Ordinal)).Max()!;
        string folder = run.Combine("probe-folder");
        var (probeCode, _, probeError) = Tests.Run.Cli.Run("probe", "--checkpoint", checkpoint, "--out", folder);
        Assert.True(probeCode == 0, probeError);
        AssertOneLineError(Tests.Run.Cli.Run("dimension", folder), "--process: a probe folder does not record");
        var (code, output, error) = Tests.Run.Cli.Run("dimension", folder, "--process", "mess3", "--steps", "20000", "--depth", "8");
        Assert.True(code == 0, error);
        using var json = JsonDocument.Parse(output);
        var clouds = json.RootElement.GetProperty("clouds").EnumerateArray().ToList();
        Assert.Equal(3, clouds.Count);

        // n_ctx 4: the probe sampled or enumerated sequences of length 4; distinct prefixes of lengths 1..4 number at most 3 + 9 + 27 + 81.
        Assert.InRange(clouds[2].GetProperty("points").GetInt32(), 4, 120);
        Assert.Equal(clouds[1].GetProperty("points").GetInt32(), clouds[2].GetProperty("points").GetInt32());
    }

    [Fact]
    public void DimensionOfAProcessPrintsJsonWithoutLoadingTorchSharp()
    {
        bool loadedBefore = AppDomain.CurrentDomain.GetAssemblies().Any(IsTorchSharp);
        int thread = Environment.CurrentManagedThreadId;
        var loadedHere = new List<string>();
        void OnLoad(object? sender, AssemblyLoadEventArgs e)
        {
            if (Environment.CurrentManagedThreadId == thread)
            {
                lock (loadedHere)
                {
                    loadedHere.Add(e.LoadedAssembly.GetName().Name ?? string.Empty);
                }
            }
        }

        AppDomain.CurrentDomain.AssemblyLoad += OnLoad;
        (int Code, string Out, string Error) result;
        try
        {
            result = Tests.Run.Cli.Run("dimension", "mess3", "--param", "x=0.15", "--param", "alpha=0.6", "--steps", "50000", "--depth", "8");
        }
        finally
        {
            AppDomain.CurrentDomain.AssemblyLoad -= OnLoad;
        }

        Assert.True(result.Code == 0, result.Error);
        using var json = JsonDocument.Parse(result.Out);
        var root = json.RootElement;
        Assert.InRange(root.GetProperty("d_ly").GetDouble(), 1.30, 1.40);
        Assert.InRange(root.GetProperty("h_mu").GetDouble(), 1.08, 1.10);
        Assert.Equal(2, root.GetProperty("lyapunov").GetArrayLength());
        Assert.True(root.TryGetProperty("d_info_msp", out _) && root.TryGetProperty("fit_r2_msp", out _) && root.TryGetProperty("window_msp", out _));
        Assert.DoesNotContain(loadedHere, name => name.StartsWith("TorchSharp", StringComparison.Ordinal));
        if (!loadedBefore)
        {
            Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), IsTorchSharp);
        }

        static bool IsTorchSharp(Assembly a) => a.GetName().Name?.StartsWith("TorchSharp", StringComparison.Ordinal) == true;
    }

    [Fact]
    public void DimensionRefusesAProcessWhoseIfsIsUndefined()
    {
        string spec = run.Combine("dead.json");
        File.WriteAllText(spec, """{"name": "dead", "type": "hmm", "transitions": [[[0.5, 0.5], [0.5, 0.5]], [[0, 0], [0, 0]]]}""");
        AssertOneLineError(Tests.Run.Cli.Run("dimension", spec), "transitions[1]: token 1 has probability zero from every belief");
        AssertOneLineError(Tests.Run.Cli.Run("dimension", "mess3", "--steps", "0"), "--steps: 0 is outside");
    }
}
