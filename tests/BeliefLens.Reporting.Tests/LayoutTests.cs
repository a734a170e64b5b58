using BeliefLens.Analysis;
using ScottPlot;
using SkiaSharp;

namespace BeliefLens.Reporting.Tests;

/// <summary>Where labels go and which panels a figure draws: decisions made before anything is rendered.</summary>
public class LayoutTests
{
    [Fact]
    public void Pca_thresholds_reached_by_the_same_component_share_one_marker_and_one_label()
    {
        // Cumulative 0.6, 0.95, 0.98, 0.995, 1: component 2 reaches 80%, 90% and 95% at once; 99% needs 4.
        var spectrum = PcaResult.FromVariances([0.6, 0.35, 0.03, 0.015, 0.005]);
        var markers = Figures.ThresholdMarkers(spectrum);
        Assert.Equal([2, 4], markers.Select(m => m.Component));
        Assert.Equal("80%, 90% and 95% of variance: 2 components", markers[0].Label);
        Assert.Equal([0.8, 0.9, 0.95], markers[0].Thresholds);
        Assert.Equal(0.95, markers[0].Cumulative, 12);
        Assert.Equal("99% of variance: 4 components", markers[1].Label);

        // Two thresholds on one component, and a single first component.
        var two = Figures.ThresholdMarkers(PcaResult.FromVariances([0.85, 0.1, 0.04, 0.01]));
        Assert.Equal(["80% of variance: 1 component", "90% and 95% of variance: 2 components", "99% of variance: 3 components"], two.Select(m => m.Label));
    }

    [Fact]
    public void Pca_figure_names_each_marker_once_in_its_caption()
    {
        using var dir = new TempDirectory();
        var figure = Figures.PcaSpectrum(PcaResult.FromVariances([0.6, 0.35, 0.03, 0.015, 0.005]), "site", dir.Path);
        Assert.Contains("80%, 90% and 95% of variance: 2 components, 99% of variance: 4 components (of 5)", figure.Caption, StringComparison.Ordinal);
    }

    [Fact]
    public void Simplex_vertex_labels_sit_in_bands_outside_the_content_box_and_grow_away_from_it()
    {
        var layout = BeliefLayout.Fit(new BeliefPoints([1, 0, 0, 0, 1, 0, 0, 0, 1], 3));
        var content = new AxisLimits(-0.3, 1.2, -0.4, 1.1); // widened by early-training predictions
        var panel = layout.PanelFor(content);
        double band = BeliefLayout.LabelBand * 1.5;
        Assert.Equal(new AxisLimits(-0.3, 1.2, -0.4 - band, 1.1 + band), panel.Limits);
        Assert.Equal(["state 0", "state 1", "state 2"], panel.Labels.Select(l => l.Text));

        // Bottom labels hang from the box's bottom edge (text below it), the top label stands on its top edge.
        var (s0, s1, s2) = (panel.Labels[0], panel.Labels[1], panel.Labels[2]);
        Assert.Equal((content.Left, content.Bottom, Alignment.UpperLeft), (s0.X, s0.Y, s0.Alignment));
        Assert.Equal((content.Right, content.Bottom, Alignment.UpperRight), (s1.X, s1.Y, s1.Alignment));
        Assert.Equal(((content.Left + content.Right) / 2, content.Top, Alignment.LowerCenter), (s2.X, s2.Y, s2.Alignment));
    }

    [Fact]
    public void Points_outside_the_content_box_are_not_drawn_into_the_label_bands()
    {
        // One point inside the box and one just below it, in the label band: only the first may appear.
        var layout = BeliefLayout.Fit(new BeliefPoints([1, 0, 0, 0, 1, 0, 0, 0, 1], 3));
        var content = layout.TruthContent([1, 0, 0, 0, 1, 0, 0, 0, 1]);
        var plot = new Plot();
        double[] points = [0, 0, 1, /* below the box: */ 0.7, 0.45, -0.15];
        layout.Draw(plot, points, [0, 0, 1, 0, 0, 1], null, content, radius: 6);
        using var surface = SKSurface.Create(new SKImageInfo(500, 500));
        plot.Render(surface.Canvas, new PixelRect(0, 500, 500, 0));
        using var image = surface.Snapshot();
        using var bitmap = SKBitmap.FromImage(image);
        var (x, y) = SimplexProjection.Project(0.7, 0.45, -0.15);
        Assert.True(y < content.Bottom && y > plot.Axes.GetLimits().Bottom, "the second point must lie in the band under the box");
        var outside = plot.GetPixel(new Coordinates(x, y));
        var inside = plot.GetPixel(new Coordinates(0.5, SimplexProjection.Height));
        Assert.Equal(SKColors.Blue, bitmap.GetPixel((int)inside.X, (int)inside.Y));
        Assert.Equal(SKColors.White, bitmap.GetPixel((int)outside.X, (int)outside.Y));
    }

    private static readonly SiteMetrics[] Rrxor =
    [
        // Held-out MSEs of `run rrxor` (README): the concatenation is 2.6× below the best single layer.
        SyntheticRun.Site("hook_embed", 0.07, 0.0702, 0.09, 0.09),
        SyntheticRun.Site("blocks.0.hook_resid_post", 0.035, 0.0376, 0.09, 0.08),
        SyntheticRun.Site("blocks.1.hook_resid_post", 0.025, 0.0267, 0.09, 0.08),
        SyntheticRun.Site("blocks.2.hook_resid_post", 0.017, 0.0189, 0.09, 0.08),
        SyntheticRun.Site("blocks.3.hook_resid_post", 0.0134, 0.0152, 0.09, 0.08),
        SyntheticRun.Site("ln_final.hook_normalized", 0.017, 0.0186, 0.09, 0.08),
        SyntheticRun.Site("concat", 0.0016, 0.0058, 0.09, 0.05) with { IsConcatenation = true },
    ];

    [Fact]
    public void Headline_shows_the_best_single_site_beside_the_concatenation_when_the_concatenation_wins()
    {
        Assert.Equal(["blocks.3.hook_resid_post", "concat"], RunReportPage.HeadlineSites(Rrxor, "blocks.3.hook_resid_post").Select(s => s.Site));

        // The best single site, not the main one, stands beside the concatenation.
        var lnFinalBest = Rrxor.Select(s => s.Site == "ln_final.hook_normalized" ? s with { HeldOutMse = 0.01 } : s).ToList();
        Assert.Equal(["ln_final.hook_normalized", "concat"], RunReportPage.HeadlineSites(lnFinalBest, "blocks.3.hook_resid_post").Select(s => s.Site));
    }

    [Fact]
    public void Headline_shows_only_the_main_site_when_no_concatenation_beats_every_single_site()
    {
        var concatLoses = Rrxor.Select(s => s.IsConcatenation ? s with { HeldOutMse = 0.016 } : s).ToList();
        Assert.Equal(["blocks.3.hook_resid_post"], RunReportPage.HeadlineSites(concatLoses, "blocks.3.hook_resid_post").Select(s => s.Site));
        var noConcat = Rrxor.Where(s => !s.IsConcatenation).ToList();
        Assert.Equal(["blocks.2.hook_resid_post"], RunReportPage.HeadlineSites(noConcat, "blocks.2.hook_resid_post").Select(s => s.Site));
    }

    [Fact]
    public void The_run_report_draws_the_headline_panels_it_chose()
    {
        var run = new SyntheticRun(depth: 5);
        using (var dir = new TempDirectory())
        {
            var rendered = RunReportPage.Render(run.Input(Rrxor), dir.Path);
            var headline = rendered.Figures.Single(f => f.Name == "beliefs-true-vs-predicted");
            using var bitmap = SKBitmap.Decode(headline.PngPath);
            Assert.Equal(3 * 700, bitmap.Width); // truth, blocks.3, concat
            Assert.Contains("from all sites concatenated (held-out MSE 0.00580, R² 0.9477)", headline.Caption, StringComparison.Ordinal);
        }

        using (var dir = new TempDirectory())
        {
            var rendered = RunReportPage.Render(run.Input(Rrxor.Where(s => !s.IsConcatenation).ToArray()), dir.Path);
            using var bitmap = SKBitmap.Decode(rendered.Figures.Single(f => f.Name == "beliefs-true-vs-predicted").PngPath);
            Assert.Equal(2 * 700, bitmap.Width); // truth, blocks.3
        }
    }
}
