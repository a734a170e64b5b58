using System.Text;
using BeliefLens.Core;

namespace BeliefLens.Runs.Tests;

/// <summary>The records keep the files' field names and shapes, and reading refuses what belieflens would not write.</summary>
public sealed class RunRecordTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"belieflens-records-{Guid.NewGuid():N}");

    public RunRecordTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    internal static RunConfig Config(ulong seed = 7) => new(
        "mess3", "mess3", new Dictionary<string, double> { ["alpha"] = 0.85, ["x"] = 0.05 },
        new ModelConfig(1, 16, 2, 8, 32, 4, 3, "relu", "LN", false),
        new TrainingConfig(40, 16, 0.01, "adamw", 0, "matrices", 0.9, 0.999, 0.9, 4, "cosine", 0.1, 1, seed, "sampled", 10, 0, 4, 5, 200_000, 20_000),
        "tiny", new ProbeConfig(["blocks.0.hook_resid_post"], true, "paper", 0.5, 200, 4, 0));

    private static string Text(byte[] utf8) => Encoding.UTF8.GetString(utf8);

    [Fact]
    public void ConfigJsonKeepsItsFieldNamesOrderAndExactSeeds()
    {
        var config = Config(seed: ulong.MaxValue);
        string json = Text(RunJson.Serialize(config, indented: false));
        Assert.Equal(
            "{\"process\":\"mess3\",\"process_name\":\"mess3\",\"process_params\":{\"alpha\":0.85,\"x\":0.05},"
            + "\"model\":{\"n_layers\":1,\"d_model\":16,\"n_heads\":2,\"d_head\":8,\"d_mlp\":32,\"n_ctx\":4,\"d_vocab\":3,\"act_fn\":\"relu\",\"normalization_type\":\"LN\",\"attn_only\":false},"
            + "\"training\":{\"steps\":40,\"batch_size\":16,\"learning_rate\":0.01,\"optimizer\":\"adamw\",\"weight_decay\":0,\"weight_decay_applies_to\":\"matrices\","
            + "\"beta1\":0.9,\"beta2\":0.999,\"momentum\":0.9,\"warmup_steps\":4,\"lr_schedule\":\"cosine\",\"min_lr_fraction\":0.1,\"grad_clip\":1,"
            + "\"seed\":\"18446744073709551615\",\"data\":\"sampled\",\"eval_every\":10,\"checkpoint_every\":0,\"log_checkpoints\":4,\"loss_read_every\":5,"
            + "\"exact_validation_limit\":200000,\"validation_samples\":20000},"
            + "\"experiment\":\"tiny\",\"probe\":{\"sites\":[\"blocks.0.hook_resid_post\"],\"concat\":true,\"weighting\":\"paper\",\"fit_fraction\":0.5,"
            + "\"max_sequences\":200,\"emergence_panels\":4,\"seed\":\"0\"}}",
            json);

        // Indented for files, with a final newline; reading gives the same record back, the seed exact.
        byte[] file = RunJson.Serialize(config, indented: true);
        Assert.EndsWith("}\n", Text(file), StringComparison.Ordinal);
        var back = RunJson.Deserialize<RunConfig>(file, "config.json");
        Assert.Null(RunJson.FirstDifference(config, back));
        Assert.Equal(ulong.MaxValue, back.Training.Seed);

        // A train-only run has no experiment or probe section at all.
        string trainOnly = Text(RunJson.Serialize(config with { Experiment = null, Probe = null }, indented: false));
        Assert.DoesNotContain("experiment", trainOnly, StringComparison.Ordinal);
        Assert.DoesNotContain("probe", trainOnly, StringComparison.Ordinal);
        Assert.Equal("training.seed is \"7\" there, \"8\" here", RunJson.FirstDifference(Config(7), Config(8)));
    }

    [Fact]
    public void ProbeSitesKeepTheirFieldNamesAndStoreNaNAsNull()
    {
        var site = new SiteMetrics("concat", 48, 800, 0.001, 0.002, 0.99, 0.98, 0.11, null, null, 0.03, 0.04, 0.05, 0.06, 0.1, null, 12, null,
            PcaComponents80: 2, PcaComponents90: 3, PcaComponents95: 4, PcaComponents99: 5, PcaExplainedRatio: [0.7, null],
            DistancePoints: 100, DistanceR2PredictedVsBeliefs: 0.9, DistanceR2PredictedVsNextToken: 0.5, DistanceR2BeliefsVsNextToken: 0.4,
            Regularisation: new ProbeRegularisation("validation on the fit sequences", 0.75, 0.1, 0.001, 1e-6, 0.002, 0, 1e-6, [new RegularisationCandidate(0.1, 1e-6, 12, 0.002)]));
        string json = Text(RunJson.Serialize(new ProbeLine(40, 2560, [site]), indented: false));
        Assert.Equal(
            "{\"step\":40,\"tokens\":2560,\"sites\":[{\"site\":\"concat\",\"dims\":48,\"rows\":800,\"mse_insample\":0.001,\"mse_heldout\":0.002,"
            + "\"r2_insample\":0.99,\"r2_heldout\":0.98,\"shuffle_mse\":0.11,\"next_token_mse\":null,\"untrained_mse\":null,\"rmse_insample\":0.03,"
            + "\"rmse_heldout\":0.04,\"mean_distance_insample\":0.05,\"mean_distance_heldout\":0.06,\"belief_variance\":0.1,\"next_token_r2\":null,"
            + "\"effective_rank\":12,\"fit_rows_merged\":null,\"pca_components_80\":2,\"pca_components_90\":3,\"pca_components_95\":4,"
            + "\"pca_components_99\":5,\"pca_explained_ratio\":[0.7,null],\"distance_points\":100,\"distance_r2_predicted_vs_beliefs\":0.9,"
            + "\"distance_r2_predicted_vs_next_token\":0.5,\"distance_r2_beliefs_vs_next_token\":0.4,\"regularisation\":{\"chosen_by\":"
            + "\"validation on the fit sequences\",\"validation_fit_fraction\":0.75,\"ridge\":0.1,\"ridge_per_unit_weight\":0.001,\"rcond\":1E-06,"
            + "\"validation_mse\":0.002,\"insample_ridge\":0,\"insample_rcond\":1E-06,\"candidates\":[{\"ridge\":0.1,\"rcond\":1E-06,\"effective_rank\":12,"
            + "\"validation_mse\":0.002}]}}]}",
            json);

        // Without controls the optional groups are absent, not null.
        string bare = Text(RunJson.Serialize(site with { PcaComponents80 = null, PcaComponents90 = null, PcaComponents95 = null, PcaComponents99 = null,
            PcaExplainedRatio = null, DistancePoints = null, DistanceR2PredictedVsBeliefs = null, DistanceR2PredictedVsNextToken = null,
            DistanceR2BeliefsVsNextToken = null, Regularisation = null }, indented: false));
        Assert.EndsWith("\"effective_rank\":12,\"fit_rows_merged\":null}", bare, StringComparison.Ordinal);
    }

    [Fact]
    public void MetricsLinesCarryValidationOnlyWhenEvaluated()
    {
        Assert.Equal("{\"step\":5,\"tokens\":320,\"train_loss\":1.05,\"lr\":0.002,\"tokens_per_s\":1234.5}",
            Text(RunJson.Serialize(new MetricsLine(5, 320, 1.05, 0.002, 1234.5), indented: false)));
        Assert.Equal("{\"step\":10,\"tokens\":640,\"train_loss\":1,\"lr\":0.01,\"tokens_per_s\":1,\"val_loss\":[1.1,0.9],\"val_loss_mean\":1,\"loss_floor\":[1,0.8],\"relative_loss\":[1.1,1.125]}",
            Text(RunJson.Serialize(new MetricsLine(10, 640, 1, 0.01, 1, [1.1, 0.9], 1, [1, 0.8], [1.1, 1.125]), indented: false)));
    }

    [Fact]
    public void EveryRecordReadsBackWhatItWroteWithOrWithoutItsOptionalFields()
    {
        static void RoundTrip<T>(T record)
            where T : class
        {
            var back = RunJson.Deserialize<T>(RunJson.Serialize(record, indented: true), typeof(T).Name);
            Assert.Null(RunJson.FirstDifference(record, back));
            Assert.Equal(RunJson.Serialize(record, indented: false), RunJson.Serialize(back, indented: false));
        }

        var mixture = new MixtureResult("blocks.3.hook_resid_post", 3, new MixtureScore(3, 0.1, 0.2, 0.9, null), new MixtureScore(9, 0.01, 0.02, 0.98, 0.1));
        var site = new SiteMetrics("blocks.0.hook_resid_post", 16, 324, 0.01, 0.02, 0.9, 0.8, 0.1, 0.03, null, 0.1, 0.14, 0.05, 0.06, 0.1, 0.7, 17, 120);
        RoundTrip(Config());
        RoundTrip(Config() with { Experiment = null, Probe = null, Model = Config().Model with { NormalizationType = null } });
        RoundTrip(new MetricsLine(5, 320, 1.05, 0.002, 1234.5));
        RoundTrip(new MetricsLine(10, 640, 1, 0.01, 1, [1.1, 0.9], 1, [1, 0.8], [1.1, 1.125]));
        RoundTrip(new CheckpointSidecar(40, 2560, 40, [ulong.MaxValue, 0, 1, 2], 3.25, 0.85, "spec.json", new Dictionary<string, double>(), Config().Model, ulong.MaxValue));
        var summary = new RunSummary("mess3", 40, 2560, 3.2, 0.81, 0.80, 1.0125, true, [0.9, 0.8], [0.89, 0.79]);
        RoundTrip(summary);
        RoundTrip(summary with { Experiment = "tiny", ProbeWeighting = "paper", Probes = [new SummaryProbe("concat", 0.1, 0.2, 0.9, 0.11, null, 0.05)], MixtureProbes = mixture });
        RoundTrip(new ProbeLine(0, 0, [site, site with { Site = "concat", Warning = "rank deficient" }]));
        RoundTrip(new ProbeResult("mess3", "prob", 81, true, null, [site]));
        RoundTrip(new ProbeResult("mess3_mixture", "paper", 200, false, 123, [site], mixture));
        RoundTrip(new LockHolder(42, "host", "belieflens run mess3", new DateTimeOffset(2025, 1, 2, 3, 4, 5, TimeSpan.Zero)));
    }

    [Theory]
    [InlineData("{\"step\":1,\"tokens\":2,\"train_loss\":1,\"lr\":0.1,\"tokens_per_s\":1,\"val_los\":[1]}", "$.val_los: unknown field")]
    [InlineData("{\"step\":1,\"step\":2,\"tokens\":2,\"train_loss\":1,\"lr\":0.1,\"tokens_per_s\":1}", "$.step: appears twice")]
    [InlineData("{\"step\":1,\"train_loss\":1,\"lr\":0.1,\"tokens_per_s\":1}", "$.tokens: missing")]
    [InlineData("{\"step\":\"one\",\"tokens\":2,\"train_loss\":1,\"lr\":0.1,\"tokens_per_s\":1}", "$.step: has the wrong type")]
    [InlineData("{\"step\":1,\"tokens\":2,\"train_loss\":null,\"lr\":0.1,\"tokens_per_s\":1}", "$.train_loss: has the wrong type")]
    [InlineData("{\"step\":1,\"tokens\":2,", "not valid JSON at line 1")]
    public void AMetricsLineBelieflensWouldNotWriteIsRefusedByJsonPath(string line, string expected)
    {
        var error = Assert.Throws<BeliefLensInputException>(() => RunJson.Deserialize<MetricsLine>(Encoding.UTF8.GetBytes(line), "metrics.jsonl:3"));
        Assert.StartsWith("metrics.jsonl:3: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain("BeliefLens.Runs", error.Message, StringComparison.Ordinal); // no .NET type names
    }

    [Fact]
    public void NestedProblemsNameTheFullPath()
    {
        string json = Text(RunJson.Serialize(Config(), indented: true));
        var error = Assert.Throws<BeliefLensInputException>(() =>
            RunJson.Deserialize<RunConfig>(Encoding.UTF8.GetBytes(json.Replace("\"warmup_steps\"", "\"warmup\"", StringComparison.Ordinal)), "run/config.json"));
        Assert.StartsWith("run/config.json: $.training.warmup: unknown field; ", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<BeliefLensInputException>(() =>
            RunJson.Deserialize<RunConfig>(Encoding.UTF8.GetBytes(json.Replace("\"x\": 0.05", "\"alpha\": 0.05", StringComparison.Ordinal)), "config.json"));
        Assert.StartsWith("config.json: $.process_params.alpha: appears twice", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<BeliefLensInputException>(() =>
            RunJson.Deserialize<RunConfig>(Encoding.UTF8.GetBytes(json.Replace("\"d_head\": 8,", string.Empty, StringComparison.Ordinal)), "config.json"));
        Assert.StartsWith("config.json: $.model.d_head: missing", error.Message, StringComparison.Ordinal);

        error = Assert.Throws<BeliefLensInputException>(() =>
            RunJson.Deserialize<RunConfig>(Encoding.UTF8.GetBytes(json.Replace("\"act_fn\": \"relu\"", "\"act_fn\": null", StringComparison.Ordinal)), "config.json"));
        Assert.StartsWith("config.json: $.model.act_fn: must not be null", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AJsonlLineIsNamedByFileAndLineNumber()
    {
        var run = new RunDirectory(Path.Combine(_root, "run"));
        Directory.CreateDirectory(run.Path);
        string good = Text(RunJson.Serialize(new ProbeLine(0, 0, []), indented: false));
        File.WriteAllText(run.ProbesPath, good + "\n" + good.Replace("\"sites\"", "\"site\"", StringComparison.Ordinal) + "\n");
        var error = Assert.Throws<BeliefLensInputException>(run.ReadProbeLines);
        Assert.StartsWith($"{run.ProbesPath}:2: $.site: unknown field", error.Message, StringComparison.Ordinal);
    }
}
