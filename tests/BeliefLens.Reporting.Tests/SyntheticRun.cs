using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Reporting.Tests;

/// <summary>
/// A fake run built from exact Mess3 beliefs: "predictions" are the truth plus seeded Gaussian noise that shrinks
/// over checkpoints. Enough to exercise every figure and the report without a trained model.
/// </summary>
public sealed class SyntheticRun
{
    public SyntheticRun(int depth = 7)
    {
        var process = BuiltinProcesses.Create("mess3");
        var tree = BeliefTree.Enumerate(process, depth);
        Truth = new BeliefPoints(tree.Beliefs, 3, tree.LogProbability.Select(Math.Exp).ToArray());
        var random = new Random(7);
        long[] tokens = [10_000, 100_000, 1_000_000, 10_000_000];
        Checkpoints = tokens.Select((t, k) =>
        {
            double noise = 0.2 / Math.Pow(3, k);
            double shrink = 0.3 + (0.7 * k / (tokens.Length - 1.0));
            var predicted = Noisy(Truth.Beliefs, noise, shrink, random);
            return new CheckpointGeometry(t, Mse(predicted, Truth.Beliefs), predicted);
        }).ToArray();
        Final = Checkpoints[^1].PredictedBeliefs;
        var myopic = tree.MyopicEntropies();
        Loss = new LossData(
            Enumerable.Range(0, 20).Select(k => (long)Math.Round(1000 * Math.Pow(10, k / 4.0))).ToArray(),
            Enumerable.Range(0, 20).Select(k => 0.8025 + (0.3 * Math.Exp(-k / 4.0))).ToArray(),
            0.8025,
            myopic.Select((h, k) => h * (1.01 + (0.002 * k))).ToArray(),
            myopic);
        Sites =
        [
            Site("blocks.0.hook_resid_pre", 0.02, 0.021, 0.05, 0.05),
            Site("blocks.0.hook_resid_post", 0.004, 0.0042, 0.05, 0.045),
            Site("blocks.1.hook_resid_post", 0.0012, 0.0013, 0.05, 0.046),
            Site("blocks.2.hook_resid_post", 0.0006, 0.00062, 0.05, 0.047),
            Site("blocks.3.hook_resid_post", 0.0004, 0.000386, 0.05, 0.047),
            Site("concat", 0.0002, 0.00025, 0.049, 0.04) with { IsConcatenation = true, Dims = 320 },
        ];
        int n = Truth.Count;
        var next = new double[n * 3];
        for (int k = 0; k < n; k++)
        {
            // Next-token distribution of Mess3: P(x|b) = Σ_i b_i Σ_j T[x][i][j].
            for (int x = 0; x < 3; x++)
            {
                double p = 0;
                for (int i = 0; i < 3; i++)
                {
                    for (int j = 0; j < 3; j++)
                    {
                        p += Truth.Beliefs[(3 * k) + i] * process.T(x, i, j);
                    }
                }

                next[(3 * k) + x] = p;
            }
        }

        Distances = DistanceAnalysis.Compute(new DenseMatrix(Final, n, 3), new DenseMatrix(Truth.Beliefs, n, 3), new DenseMatrix(next, n, 3), 200, seed: 3, keepPairs: true);
        Spectrum = PcaResult.FromVariances([0.55, 0.3, 0.08, 0.03, 0.02, 0.01, 0.005, 0.003, 0.002]);
    }

    public BeliefPoints Truth { get; }
    public CheckpointGeometry[] Checkpoints { get; }
    public double[] Final { get; }
    public LossData Loss { get; }
    public SiteMetrics[] Sites { get; }
    public DistanceAnalysis Distances { get; }
    public PcaResult Spectrum { get; }

    /// <summary>A site with the given errors; R² from the Mess3 belief variance (0.111 per dimension, as the shuffle control).</summary>
    public static SiteMetrics Site(string site, double inSample, double heldOut, double shuffle, double untrained) =>
        new(site, false, 64, inSample, heldOut, 1 - (heldOut / 0.111), shuffle, untrained, heldOut / 2);

    /// <summary>Writes every figure into <paramref name="directory"/> and returns them in report order, with the animation.</summary>
    public (List<FigureFile> Figures, AnimationFile Animation) WriteFigures(string directory)
    {
        var figures = new List<FigureFile>
        {
            Figures.BeliefGeometry(Truth, "mess3(x=0.05, alpha=0.85)", directory),
            Figures.GroundTruthVsPredicted(Truth, [new PredictedPanel(Sites[4], Final)], directory),
            Figures.Emergence(Truth, Checkpoints, directory),
            Figures.Loss(Loss, directory),
            Figures.ProbeErrors(Sites, directory),
            Figures.Distances(Distances, directory),
            Figures.PcaSpectrum(Spectrum, "blocks.3.hook_resid_post", directory),
        };
        var animation = Figures.EmergenceAnimation(Truth, Checkpoints, directory);
        return (figures, animation);
    }

    public ReportModel Report(IReadOnlyList<FigureFile> figures, AnimationFile animation) => new(
        "BeliefLens: mess3 <synthetic test run>",
        "A synthetic run: the \"predicted\" beliefs are the exact beliefs plus noise that shrinks over training, so the fractal sharpens checkpoint by checkpoint.",
        """{"process": {"name": "mess3", "x": 0.05, "alpha": 0.85}, "model": {"n_layers": 4, "d_model": 64}, "seed": 1, "steps": 1000}""",
        [
            new ReportSection("Belief geometry", [ReportFigure.From(figures[0]), ReportFigure.From(figures[1])]),
            new ReportSection("Emergence", [ReportFigure.From(figures[2]), ReportFigure.From(animation)]),
            new ReportSection("Training and probes", figures.Skip(3).Select(f => ReportFigure.From(f)).ToArray()),
        ],
        [
            new MetricRow("Held-out probe MSE (final layer)", "0.000386", "0.000386", "paper weighting"),
            new MetricRow("Validation loss / floor", "0.8031 / 0.8025"),
        ],
        "Generated by the BeliefLens.Reporting tests.");

    /// <summary>
    /// The run as <see cref="RunReportPage"/> takes it (Mess3 with the paper's parameters, n_ctx 5): every site's
    /// prediction is <see cref="Final"/>; <paramref name="sites"/> replaces the probe's metrics.
    /// </summary>
    public RunReportInput Input(IReadOnlyList<SiteMetrics>? sites = null)
    {
        sites ??= Sites;
        var experiment = new ExperimentFacts("synthetic", "mess3", new Dictionary<string, double>(), 4, 64, 5, 0.8, 4, """{"experiment": "synthetic"}""");
        return new RunReportInput(experiment, BuiltinProcesses.Create("mess3"), new TrainingOutcome(0.8031, 0.8025, 1_000_000, 12),
            Loss, sites, "blocks.3.hook_resid_post", Truth, sites.ToDictionary(s => s.Site, _ => Final), Checkpoints, Distances, null, "/runs/synthetic");
    }

    private static double[] Noisy(double[] truth, double sigma, double shrink, Random random)
    {
        var result = new double[truth.Length];
        for (int k = 0; k < truth.Length; k++)
        {
            double u1 = 1 - random.NextDouble(), u2 = random.NextDouble();
            double gaussian = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            result[k] = (1.0 / 3) + (shrink * (truth[k] - (1.0 / 3))) + (sigma * gaussian);
        }

        return result;
    }

    private static double Mse(double[] a, double[] b) => a.Zip(b, (x, y) => (x - y) * (x - y)).Average();
}
