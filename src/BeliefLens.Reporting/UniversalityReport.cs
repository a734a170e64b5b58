using System.Globalization;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>One site of one run's quantum probe, as the universality report draws it (numbers computed elsewhere).</summary>
public sealed record UniversalitySite(string Site, string Label, int Order, double NormalizedRmse, double MarkovNormalizedRmse, double CosineR2, double CosineR2Markov);

/// <summary>
/// One run of a universality comparison: its process and architecture, its sites in depth order, and the concatenated
/// site's predicted beliefs with the true ones (for the geometry panels). <paramref name="BlochDisc"/> draws the
/// Bloch walk's beliefs (1/3, x/3, z/3)-style in their natural coordinates (b₁/b₀, b₂/b₀) on the unit disc.
/// </summary>
public sealed record UniversalityRun(string Run, string Process, string Architecture, IReadOnlyList<UniversalitySite> Sites, BeliefPoints? Truth,
    double[]? PredictedConcat, bool BlochDisc);

/// <summary>
/// The quantum paper's cross-architecture figures: normalised RMSE per site (its Fig. 3), cosine-similarity R² against
/// the minimal generator and the Markov approximation (Fig. 4), and the predicted geometries side by side.
/// </summary>
public static class UniversalityReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>One panel per process: normalised RMSE (log scale) against site depth, one line per architecture (solid: minimal generator, dashed: Markov).</summary>
    public static FigureFile NormalizedRmse(IReadOnlyList<UniversalityRun> runs, string directory, int markovOrder, string name = "normalized-rmse")
    {
        ArgumentNullException.ThrowIfNull(runs);
        var architectures = runs.Select(r => r.Architecture).Distinct(StringComparer.Ordinal).ToList();
        var panels = new List<Plot>();
        foreach (var group in runs.GroupBy(r => r.Process, StringComparer.Ordinal))
        {
            var plot = FigureStyle.NewPlot(group.Key, "site", "normalised RMSE (log scale)");
            var labels = new SortedDictionary<int, string>();
            foreach (var run in group)
            {
                var colour = FigureStyle.Palette[architectures.IndexOf(run.Architecture) % FigureStyle.Palette.Length];
                var sites = run.Sites.Where(s => s.NormalizedRmse > 0 && s.MarkovNormalizedRmse > 0).OrderBy(s => s.Order).ToList();
                foreach (var s in sites)
                {
                    labels[s.Order] = s.Label;
                }

                var xs = sites.Select(s => (double)s.Order).ToArray();
                var minimal = plot.Add.ScatterLine(xs, sites.Select(s => Math.Log10(s.NormalizedRmse)).ToArray(), colour);
                minimal.LineWidth = 2.5f;
                minimal.MarkerSize = 7;
                minimal.LegendText = run.Architecture;
                // Markov: the same colour, lighter, thin, with open squares (a dashed line would not survive the SVG writer).
                var markov = plot.Add.ScatterLine(xs, sites.Select(s => Math.Log10(s.MarkovNormalizedRmse)).ToArray(), colour.WithAlpha(0.55));
                markov.LineWidth = 1.5f;
                markov.MarkerSize = 8;
                markov.MarkerShape = MarkerShape.OpenSquare;
                markov.LegendText = $"{run.Architecture}, Markov-{markovOrder}";
            }

            var ticks = new ScottPlot.TickGenerators.NumericManual();
            foreach (var (order, label) in labels)
            {
                ticks.AddMajor(order, label);
            }

            plot.Axes.Bottom.TickGenerator = ticks;
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { LabelFormatter = v => Math.Pow(10, v).ToString("G3", Inv), TargetTickCount = 5 };
            plot.ShowLegend(Alignment.LowerLeft);
            plot.Legend.FontSize = 10;
            panels.Add(plot);
        }

        string caption = $"Normalised RMSE (probe RMSE divided by the mean RMSE of the same probe on random-init networks of the same architecture) at every site, one panel per process, one colour per architecture. Solid lines with dots: regressing onto the beliefs of the minimal generator; light lines with open squares: onto the beliefs of the Markov-order-{markovOrder} approximation. Lower is better; 1 is no better than a random network.";
        return FigureWriter.Write(panels, Math.Min(2, panels.Count), directory, name, caption, 620, 480);
    }

    /// <summary>One panel per process: cosine-similarity R² of the concatenated site against the minimal generator and the Markov approximation, per architecture.</summary>
    public static FigureFile CosineR2(IReadOnlyList<UniversalityRun> runs, string concatSite, string directory, int markovOrder, string name = "cosine-r2")
    {
        ArgumentNullException.ThrowIfNull(runs);
        var panels = new List<Plot>();
        foreach (var group in runs.GroupBy(r => r.Process, StringComparer.Ordinal))
        {
            var plot = FigureStyle.NewPlot(group.Key, "architecture", "cosine-similarity R²");
            var ticks = new ScottPlot.TickGenerators.NumericManual();
            int k = 0;
            var minimalX = new List<double>();
            var minimalY = new List<double>();
            var markovX = new List<double>();
            var markovY = new List<double>();
            foreach (var run in group)
            {
                var site = run.Sites.FirstOrDefault(s => s.Site == concatSite);
                ticks.AddMajor(k, run.Architecture);
                if (site is not null)
                {
                    minimalX.Add(k - 0.12);
                    minimalY.Add(site.CosineR2);
                    markovX.Add(k + 0.12);
                    markovY.Add(site.CosineR2Markov);
                }

                k++;
            }

            var minimal = plot.Add.Markers(minimalX.ToArray(), minimalY.ToArray(), MarkerShape.FilledCircle, 12, FigureStyle.Palette[0]);
            minimal.LegendText = "minimal generator";
            var markov = plot.Add.Markers(markovX.ToArray(), markovY.ToArray(), MarkerShape.FilledSquare, 11, FigureStyle.Palette[1]);
            markov.LegendText = $"Markov-{markovOrder}";
            plot.Axes.Bottom.TickGenerator = ticks;
            plot.Axes.SetLimitsX(-0.6, k - 0.4);
            double low = Math.Min(0, minimalY.Concat(markovY).DefaultIfEmpty(0).Min());
            plot.Axes.SetLimitsY(low - 0.05, 1.05);
            plot.ShowLegend(Alignment.LowerRight);
            panels.Add(plot);
        }

        string caption = $"Geometry preservation at the concatenated site: R² between the pairwise cosine similarities of the predicted and the true beliefs (upper triangles, up to 2·10⁵ probability-weighted anchor pairs). Circles: beliefs of the minimal generator; squares: of the Markov-order-{markovOrder} approximation.";
        return FigureWriter.Write(panels, Math.Min(2, panels.Count), directory, name, caption, 620, 460);
    }

    /// <summary>Rows: processes; columns: architectures; each panel the concatenated site's predicted beliefs coloured by the true belief.</summary>
    public static FigureFile Geometries(IReadOnlyList<UniversalityRun> runs, string directory, string name = "geometries")
    {
        ArgumentNullException.ThrowIfNull(runs);
        var architectures = runs.Select(r => r.Architecture).Distinct(StringComparer.Ordinal).ToList();
        var panels = new List<Plot>();
        foreach (var group in runs.GroupBy(r => r.Process, StringComparer.Ordinal))
        {
            foreach (string architecture in architectures)
            {
                var run = group.FirstOrDefault(r => r.Architecture == architecture);
                var plot = FigureStyle.NewGeometryPlot($"{group.Key} · {architecture}", string.Empty, string.Empty);
                plot.Axes.Title.Label.FontSize = 13;
                if (run?.Truth is { } truth && run.PredictedConcat is { } predicted)
                {
                    var layout = BeliefLayout.Fit(truth);
                    if (run.BlochDisc)
                    {
                        DrawDisc(plot, layout, truth, predicted);
                    }
                    else
                    {
                        var content = Figures.ContentLimits(layout, truth.Beliefs, [predicted]);
                        layout.Draw(plot, predicted, truth.Beliefs, truth.Weights, content);
                    }
                }

                panels.Add(plot);
            }
        }

        string caption = "The concatenated site's predicted belief of every anchor prefix, one row per process and one column per architecture, each point coloured by its true belief: the simplex for 3-state HMMs, the Bloch walk's disc in its natural coordinates (b₁/b₀, b₂/b₀), a 2-D PCA of the true beliefs otherwise. The same picture across a row means every architecture learned the same geometry.";
        return FigureWriter.Write(panels, Math.Max(1, architectures.Count), directory, name, caption, 420, 420);
    }

    // The Bloch walk's belief (b₀, b₁, b₂) has b₀ fixed by normalisation; (b₁/b₀, b₂/b₀) is the Bloch vector's (x, z).
    private static void DrawDisc(Plot plot, BeliefLayout layout, BeliefPoints truth, double[] predicted)
    {
        int n = truth.Count;
        var xs = new double[n];
        var ys = new double[n];
        double scale = 0;
        for (int k = 0; k < n; k++)
        {
            scale += truth.Beliefs[3 * k];
        }

        scale = n / scale;
        for (int k = 0; k < n; k++)
        {
            xs[k] = predicted[(3 * k) + 1] * scale;
            ys[k] = predicted[(3 * k) + 2] * scale;
        }

        var rgb = layout.Colours(truth.Beliefs);
        var argb = rgb.Select(c => (0xD2u << 24) | ((uint)c.R << 16) | ((uint)c.G << 8) | c.B).ToArray();
        var circle = plot.Add.Circle(0, 0, 1);
        circle.LineColor = FigureStyle.Ink;
        circle.LineWidth = 1.5f;
        var limits = new AxisLimits(-1.15, 1.15, -1.15, 1.15);
        plot.Add.Plottable(new PointCloud(xs, ys, argb, BeliefLayout.DefaultRadius(n), truth.Weights is { } w ? Enumerable.Range(0, n).OrderBy(k => w[k]).ToArray() : null, limits));
        plot.Axes.SetLimits(limits);
    }

    /// <summary>The self-contained HTML report (the caller writes it).</summary>
    public static string Render(string title, string summary, IReadOnlyList<FigureFile> figures, ReportTable table)
    {
        ArgumentNullException.ThrowIfNull(figures);
        var sections = new List<ReportSection>
        {
            new("Normalised RMSE by process, architecture and site", [ReportFigure.From(figures[0])]),
            new("Geometry preservation: cosine-similarity R²", [ReportFigure.From(figures[1])]),
        };
        if (figures.Count > 2)
        {
            sections.Add(new ReportSection("Predicted geometries", [ReportFigure.From(figures[2])]));
        }

        sections.Add(new ReportSection("Every site of every run", [], Table: table));
        return HtmlReport.Render(new ReportModel(title, summary, string.Empty, sections, []));
    }
}
