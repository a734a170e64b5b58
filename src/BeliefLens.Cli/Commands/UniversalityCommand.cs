using System.ComponentModel;
using System.Globalization;
using BeliefLens.Analysis;
using BeliefLens.Cli.Run;
using BeliefLens.Core;
using BeliefLens.Reporting;
using BeliefLens.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens universality RUN_DIR... --out DIR</c>: the quantum paper's comparison across runs (processes ×
/// architectures): DIR/universality.json (one row per run × site), the figures and DIR/report.html. A run without a
/// quantum probe (quantum/) gets one first, written into the run, unless --no-compute.
/// </summary>
public sealed class UniversalityCommand : BeliefLensCommand<UniversalityCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "[RUN_DIRS]")]
        [Description("run directories (or probe --protocol quantum outputs) to compare")]
        public string[] Runs { get; init; } = [];

        [CommandOption("--out <DIR>")]
        [Description("the output directory (required)")]
        public string? Out { get; init; }

        [CommandOption("--no-compute")]
        [Description("refuse runs without a quantum probe instead of probing them")]
        public bool NoCompute { get; init; }

        public override ValidationResult Validate() =>
            Runs.Length == 0 ? ValidationResult.Error("universality: give at least one run directory, e.g. belieflens universality runs/a runs/b --out cmp.")
            : Out is null ? ValidationResult.Error("--out: is required for 'universality'.")
            : ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var runs = new List<(string Name, RunDirectory Dir, QuantumProbeResult Result)>();
        foreach (string path in settings.Runs)
        {
            var dir = new RunDirectory(path);
            if (!Directory.Exists(path))
            {
                throw new BeliefLensInputException($"universality: run directory '{path}' does not exist.");
            }

            if (!dir.HasQuantumProbe)
            {
                if (settings.NoCompute || !dir.HoldsRun)
                {
                    throw new BeliefLensInputException(
                        $"universality: '{path}' has no quantum probe; run 'belieflens probe --checkpoint {path} --protocol quantum --out DIR' and pass DIR, or drop --no-compute.");
                }

                Console.WriteLine($"{path}: no quantum probe yet; probing its final checkpoint (written to {dir.QuantumPath})");
                ProbeRun(path, cancellationToken);
            }

            runs.Add((Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path))), dir, dir.ReadQuantumProbe()));
        }

        var duplicate = runs.GroupBy(r => r.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new BeliefLensInputException($"universality: two runs are named '{duplicate.Key}'; give directories with distinct names.");
        }

        var rows = runs.SelectMany(r => r.Result.Sites.Select(s => new UniversalityRow(r.Name, r.Result.Process, r.Result.Architecture, s.Site,
            s.Rmse, s.RmseHeldout, s.RandomInitRmse, s.NormalizedRmse, s.MarkovRmse, s.MarkovNormalizedRmse, s.CosineR2, s.CosineR2Markov))).ToArray();

        var output = new RunDirectory(settings.Out!);
        using var writer = output.Lock("universality");
        writer.WriteUniversality(rows);
        var figureData = runs.Select(r => FigureData(r.Name, r.Dir, r.Result)).ToArray();
        string figures = writer.CreateFolder(output.FiguresPath);
        int markovOrder = runs[0].Result.MarkovOrder;
        var files = new List<FigureFile>
        {
            UniversalityReport.NormalizedRmse(figureData, figures, markovOrder),
            UniversalityReport.CosineR2(figureData, ConcatSite, figures, markovOrder),
        };
        if (figureData.Any(r => r.Truth is not null && r.PredictedConcat is not null))
        {
            files.Add(UniversalityReport.Geometries(figureData, figures));
        }

        var table = new ReportTable("One row per run and site: RMSE = √(Σ p‖η − η̂‖²) over the anchors (weights P(w)/n_ctx), held out by 10-fold CV; normalised by the mean RMSE of random-init networks.",
            ["run", "process", "architecture", "site", "RMSE", "held-out", "random-init", "normalised", $"Markov-{markovOrder}", $"Markov-{markovOrder} normalised", "cosine R²", $"cosine R² Markov-{markovOrder}"],
            rows.Select(r => (IReadOnlyList<string>)[r.Run, r.Process, r.Architecture, r.Site, G(r.Rmse), G(r.RmseHeldout), G(r.RandomInitRmse), G(r.NormalizedRmse),
                G(r.MarkovRmse), G(r.MarkovNormalizedRmse), G(r.CosineR2), G(r.CosineR2Markov)]).ToArray());
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"{runs.Count} runs ({string.Join(", ", runs.Select(r => r.Result.Process).Distinct())} × {string.Join(", ", runs.Select(r => r.Result.Architecture).Distinct())}) probed with the quantum paper's protocol: every prefix of length 1..n_ctx as an anchor, an affine probe with its SVD cutoff chosen by 10-fold cross-validation, controls from random-init networks and the Markov-order-{markovOrder} approximation.");
        writer.WriteText(output.ReportPath, UniversalityReport.Render("Universality across architectures", summary, files, table));
        Console.WriteLine($"{rows.Length} rows from {runs.Count} runs; wrote {output.UniversalityPath} and {output.ReportPath}");
        return 0;
    }

    private const string ConcatSite = "concat";

    private static string G(double? value) => value is double v ? v.ToString("G4", CultureInfo.InvariantCulture) : "—";

    // Kept out of Execute so that TorchSharp loads only when a run needs probing.
    private static void ProbeRun(string path, CancellationToken cancellation) => RunPipeline.ProbeQuantum(path, new PlainObserver(), cancellation);

    private static UniversalityRun FigureData(string name, RunDirectory dir, QuantumProbeResult result)
    {
        var sites = result.Sites.Select((s, i) => new UniversalitySite(s.Site, SiteLabel(s.Site, i, result.Sites.Count), i,
            s.NormalizedRmse ?? double.NaN, s.MarkovNormalizedRmse ?? double.NaN, s.CosineR2 ?? double.NaN, s.CosineR2Markov ?? double.NaN)).ToArray();
        BeliefPoints? truth = null;
        double[]? predicted = null;
        if (File.Exists(dir.QuantumPredictedPath(ConcatSite)))
        {
            var beliefs = NpyFile.Read(dir.QuantumTrueBeliefsPath);
            var weights = NpyFile.Read(dir.QuantumWeightsPath).Data;
            truth = new BeliefPoints(beliefs.Data, beliefs.Shape[1], weights);
            predicted = NpyFile.Read(dir.QuantumPredictedPath(ConcatSite)).Data;
        }

        bool disc = result.Process.StartsWith("tom_quantum", StringComparison.Ordinal) && truth?.StateCount == 3;
        return new UniversalityRun(name, result.Process, result.Architecture, sites, truth, predicted, disc);
    }

    // Sites come in depth order: the input first, then every layer, the final norm (transformers), the concatenation.
    private static string SiteLabel(string site, int index, int count) =>
        site == ConcatSite ? "concat"
        : index == 0 ? "input"
        : site.StartsWith("ln_final", StringComparison.Ordinal) ? "norm"
        : index < count ? $"L{index}" : site;

    private sealed class PlainObserver : IRunObserver
    {
        public void Stage(string name, string detail) => Console.WriteLine($"{name}: {detail}");

        public void Training(BeliefLens.Torch.TrainingProgress progress)
        {
        }

        public void Info(string message) => Console.WriteLine(message);
    }
}
