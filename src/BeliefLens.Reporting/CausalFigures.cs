using System.Globalization;
using System.Net;
using System.Text;
using BeliefLens.Analysis;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>Figures of the intervention and dimension results; draws the numbers it is given, computes none.</summary>
public static class CausalFigures
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Gap closed by site: belief steering beside its random, orthogonal and full-patch controls.</summary>
    public static FigureFile GapClosedBySite(IReadOnlyList<SiteSteering> sites, string directory, string name = "intervention-gap-by-site")
    {
        ArgumentNullException.ThrowIfNull(sites);
        var plot = FigureStyle.NewPlot("KL gap closed by steering the belief subspace", "site", "gap closed (1 − KL after / KL before)");
        (string Label, Func<SiteSteering, double> Get)[] series =
        [
            ("belief steering", s => s.GapClosedMean),
            ("along the encoding directions", s => s.GapClosedEncoding),
            ("random direction, same norm", s => s.GapClosedRandom),
            ("orthogonal to subspace, same norm", s => s.GapClosedOrthogonal),
            ("full activation patch", s => s.GapClosedFullPatch),
        ];
        double barWidth = 0.8 / series.Length;
        double low = 0;
        for (int k = 0; k < series.Length; k++)
        {
            var bars = new List<Bar>();
            for (int s = 0; s < sites.Count; s++)
            {
                double v = series[k].Get(sites[s]);
                v = double.IsFinite(v) ? v : 0;
                low = Math.Min(low, v);
                bars.Add(new Bar { Position = s + ((k - ((series.Length - 1) / 2.0)) * barWidth), Value = v, ValueBase = 0, Size = barWidth * 0.92, FillColor = FigureStyle.Palette[k], LineWidth = 0 });
            }

            plot.Add.Bars(bars).LegendText = series[k].Label;
        }

        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int s = 0; s < sites.Count; s++)
        {
            ticks.AddMajor(s, Figures.ShortSite(sites[s].Site));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        plot.Axes.SetLimits(-0.6, sites.Count - 0.4, Math.Max(low, -1.5) - 0.05, 1.1);
        plot.ShowLegend(Edge.Bottom);
        string caption = "At each site, A's activation at its last position is moved within the probe's belief subspace so the probe reads B's belief; "
            + "bars show the mean fraction of KL(P_exact(·|η_B) ‖ P_model) removed. Along the encoding directions: the same change to the probe's reading made along the directions the activations move with the belief (their least-squares slope on η). Controls on the same pairs: a random and an orthogonal direction of the same norm, and replacing A's activation with B's.";
        return FigureWriter.Write([plot], 1, directory, name, caption, Math.Max(900, (130 * sites.Count) + 200), 600);
    }

    /// <summary>Next-token distributions of a few pairs at one site: exact for B and A, the model on A before and after steering.</summary>
    public static FigureFile SteeredNextToken(SiteSteering site, IReadOnlyList<string> tokenNames, string directory, string name = "intervention-next-token")
    {
        ArgumentNullException.ThrowIfNull(site);
        ArgumentNullException.ThrowIfNull(tokenNames);
        var panels = new List<Plot>();
        foreach (var example in site.Examples)
        {
            var plot = FigureStyle.NewPlot($"A = {Shorten(example.PrefixA)}, B = {Shorten(example.PrefixB)}", "next token", "probability");
            (string Label, double[] Values)[] series =
            [
                ("exact, B's belief (target)", example.ExactB),
                ("exact, A's belief", example.ExactA),
                ("model on A", example.ModelBefore),
                ("model on A, steered", example.ModelAfter),
            ];
            double barWidth = 0.8 / series.Length;
            for (int k = 0; k < series.Length; k++)
            {
                var bars = series[k].Values.Select((v, x) => new Bar
                {
                    Position = x + ((k - 1.5) * barWidth), Value = v, ValueBase = 0, Size = barWidth * 0.92, FillColor = FigureStyle.Palette[k], LineWidth = 0,
                }).ToList();
                plot.Add.Bars(bars).LegendText = series[k].Label;
            }

            var ticks = new ScottPlot.TickGenerators.NumericManual();
            for (int x = 0; x < tokenNames.Count; x++)
            {
                ticks.AddMajor(x, tokenNames[x]);
            }

            plot.Axes.Bottom.TickGenerator = ticks;
            plot.Axes.SetLimits(-0.6, tokenNames.Count - 0.4, 0, 1.05);
            plot.ShowLegend(Edge.Bottom);
            panels.Add(plot);
        }

        if (panels.Count == 0)
        {
            panels.Add(FigureStyle.NewPlot("no examples", "next token", "probability"));
        }

        string caption = $"Steering at {site.Site}: the model's next-token distribution on prefix A before and after its activation is moved so the probe reads B's belief, beside the exact distributions of both beliefs.";
        return FigureWriter.Write(panels, 2, directory, name, caption, 640, 600);
    }

    /// <summary>Log–log box counts: I(ε) against ln(1/ε) for each cloud, with the fitted line inside the window.</summary>
    public static FigureFile BoxCounts(DimensionReport report, string directory, string name = "dimension-box-counts")
    {
        ArgumentNullException.ThrowIfNull(report);
        var plot = FigureStyle.NewPlot("Box-counting information dimension", "ln(1/ε)", "I(ε) = −Σ p ln p (nats)");
        int k = 0;
        foreach (var cloud in report.Clouds)
        {
            var fit = cloud.Information;
            if (fit.Scales.Length == 0)
            {
                continue;
            }

            var x = fit.Scales.Select(s => -Math.Log(s)).ToArray();
            var color = FigureStyle.Palette[k++ % FigureStyle.Palette.Length];
            var scatter = plot.Add.ScatterPoints(x, fit.Values);
            scatter.Color = color;
            scatter.MarkerSize = 7;
            scatter.LegendText = fit.Dimension is double d ? $"{cloud.Cloud}: D1 = {d.ToString("0.000", Inv)} (R² {fit.FitR2?.ToString("0.000", Inv)})" : $"{cloud.Cloud}: no fit ({fit.Warning})";
            if (fit.Dimension is double slope && fit.Intercept is double intercept)
            {
                // Values = intercept − D·ln ε, drawn against ln(1/ε).
                var line = plot.Add.Line(x.Min(), intercept + (slope * x.Min()), x.Max(), intercept + (slope * x.Max()));
                line.Color = color;
                line.LineWidth = 2;
                line.LinePattern = LinePattern.Dashed;
            }
        }

        plot.ShowLegend(Edge.Bottom);
        string caption = string.Create(Inv, $"Information in boxes of side ε against ln(1/ε); dashed lines are least-squares fits within each window, whose slopes are the dimensions. Lyapunov dimension from the chaos game: d_LY = {report.DLy:0.000} (h_μ = {report.HMu:0.0000} nats, λ = {string.Join(", ", report.Lyapunov.Select(l => l.ToString("0.000", Inv)))}).");
        return FigureWriter.Write([plot], 1, directory, name, caption, 900, 640);
    }

    private static string Shorten(string prefix) => prefix.Length <= 24 ? prefix : "…" + prefix[^23..];
}

/// <summary>The intervention report: a self-contained HTML section with its figures and the per-site table.</summary>
public static class InterventionReportPage
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Writes the figures into <paramref name="figures"/> and returns the HTML page (figures referenced relatively).</summary>
    public static string Render(InterventionReport report, string figures, IReadOnlyList<string>? tokenNames = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var gap = CausalFigures.GapClosedBySite(report.Sites, figures);
        var last = report.Sites[^1];
        tokenNames ??= Enumerable.Range(0, last.Examples.FirstOrDefault()?.ExactB.Length ?? 0).Select(x => x.ToString(Inv)).ToList();
        var examples = CausalFigures.SteeredNextToken(last, tokenNames, figures);
        string folder = Path.GetFileName(Path.TrimEndingDirectorySeparator(figures));
        var html = new StringBuilder();
        html.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>Interventions</title>");
        html.Append("<style>body{font-family:'DejaVu Sans',sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse}td,th{padding:4px 8px;border-bottom:1px solid #ddd;text-align:right}th:first-child,td:first-child{text-align:left}img{max-width:100%}</style></head><body>");
        html.Append("<h2>Is the belief geometry used? Causal interventions</h2>");
        html.Append(CultureInfo.InvariantCulture, $"<p>Model {E(report.Model)}, process {E(report.Process)}, {report.PairsRequested} prefix pairs per site (beliefs at least {report.MinBeliefDistance} apart; pairs with KL before below {report.MinKlBefore} are left out of the ratios). Probe: {E(report.ProbeSource)}. Scope: {E(report.Scope)}.</p>");
        html.Append("<p>For each pair (A, B) of equal-length prefixes, the activation at A's last position is moved within the row space of the probe's linear map so that the probe reads B's belief; the component orthogonal to it is kept and the rest of the network runs from the site. If the network uses the geometry the probe finds, its next-token distribution moves to B's exact one; if the probe only reads a by-product, it does not. The probe's directions are discriminative (they cancel whatever else varies in the activations), so the table also steers along the directions the activations move with the belief, scaled so the probe reads the same target: a network can read its beliefs along those and barely along the probe's.</p>");
        html.Append("<table><tr><th>site</th><th>pairs used</th><th>KL before</th><th>KL after</th><th>gap closed</th><th>along encoding (random at its norm)</th><th>random</th><th>orthogonal</th><th>full patch</th><th>probe MSE</th><th>edit / activation norm</th><th>kernel: next-token KL shift</th><th>kernel: two-step KL before → after</th></tr>");
        foreach (var s in report.Sites)
        {
            string kernel = s.Kernel is { Pairs: > 0 } k ? string.Create(Inv, $"<td>{k.NextTokenKlShiftMean:G3}</td><td>{k.TwoStepKlBeforeMean:G4} → {k.TwoStepKlAfterMean:G4} ({k.PairsMovedTowardTarget}/{k.Pairs} closer); along encoding → {k.TwoStepKlAfterEncodingMean:G4} ({k.PairsMovedTowardTargetEncoding}/{k.Pairs}), next-token shift {k.NextTokenKlShiftEncodingMean:G3}</td>") : "<td>–</td><td>–</td>";
            html.Append(Inv, $"<tr><td>{E(s.Site)}</td><td>{s.PairsUsed}/{s.Pairs}</td><td>{s.KlBeforeMean:G4}</td><td>{s.KlAfterMean:G4}</td><td>{s.GapClosedMean:F3}</td><td>{s.GapClosedEncoding:F3} ({s.GapClosedEncodingRandom:F3})</td><td>{s.GapClosedRandom:F3}</td><td>{s.GapClosedOrthogonal:F3}</td><td>{s.GapClosedFullPatch:F3}</td><td>{s.ProbeMse:G4}</td><td>{s.EditNormMean:G3} / {s.ActivationNormMean:G3}</td>{kernel}</tr>");
        }

        html.Append("</table>");
        foreach (var figure in new[] { gap, examples })
        {
            html.Append(Inv, $"<figure><img src=\"{folder}/{Path.GetFileName(figure.PngPath)}\" alt=\"{E(figure.Name)}\"><figcaption>{E(figure.Caption)}</figcaption></figure>");
        }

        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
