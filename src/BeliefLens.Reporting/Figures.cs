using System.Globalization;
using BeliefLens.Analysis;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>The paper's figures. Each writes PNG + SVG into a directory and returns the file pair with its caption.</summary>
public static class Figures
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Figure 1: the belief geometry (MSP point cloud) of a process.</summary>
    public static FigureFile BeliefGeometry(BeliefPoints beliefs, string processLabel, string directory, string name = "belief-geometry")
    {
        ArgumentNullException.ThrowIfNull(beliefs);
        var layout = BeliefLayout.Fit(beliefs);
        var plot = FigureStyle.NewGeometryPlot($"Belief states of {processLabel}", layout.XLabel, layout.YLabel);
        layout.Draw(plot, beliefs.Beliefs, beliefs.Beliefs, beliefs.Weights, layout.TruthContent(beliefs.Beliefs));
        string how = layout.IsSimplex
            ? "Each point is the Bayesian belief over the 3 hidden states after one prefix, drawn in the probability simplex and coloured RGB = belief."
            : $"Each point is the Bayesian belief over the {beliefs.StateCount} hidden states after one prefix, shown on its first two principal components ({Pct(layout.DrawnVariance!.Value.Pc1 + layout.DrawnVariance.Value.Pc2)} of the variance) and coloured by the first three.";
        string caption = $"{how} {beliefs.Count:N0} prefixes of {processLabel}.";
        return FigureWriter.Write([plot], 1, directory, name, caption, 760, 700);
    }

    /// <summary>
    /// Figure 2 (the headline): true beliefs beside the probe's predictions from one or more sites, every panel
    /// coloured by the true belief and drawn on the same axes.
    /// </summary>
    public static FigureFile GroundTruthVsPredicted(
        BeliefPoints truth, IReadOnlyList<PredictedPanel> predictions, string directory, string name = "beliefs-true-vs-predicted")
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(predictions);
        if (predictions.Count == 0)
        {
            throw new ArgumentException("predictions: need at least one predicted panel.", nameof(predictions));
        }

        foreach (var p in predictions)
        {
            if (p.PredictedBeliefs.Length != truth.Beliefs.Length)
            {
                throw new ArgumentException(
                    $"predicted: {p.PredictedBeliefs.Length} values at {p.Site.Site}, expected {truth.Beliefs.Length} (same rows and states as the truth).", nameof(predictions));
            }
        }

        var layout = BeliefLayout.Fit(truth);
        // Same axes on every panel so shapes compare; the predictions may spill outside the truth's range.
        var content = ContentLimits(layout, truth.Beliefs, predictions.Select(p => p.PredictedBeliefs));
        var left = FigureStyle.NewGeometryPlot("Ground truth: Bayesian beliefs", layout.XLabel, layout.YLabel);
        layout.Draw(left, truth.Beliefs, truth.Beliefs, truth.Weights, content);
        var panels = new List<Plot> { left };
        foreach (var p in predictions)
        {
            var plot = FigureStyle.NewGeometryPlot($"Predicted from {PanelSite(p.Site)}", ScoreLine(p.Site), "");
            layout.Draw(plot, p.PredictedBeliefs, truth.Beliefs, truth.Weights, content);
            panels.Add(plot);
        }

        string from = string.Join(" and ", predictions.Select(p => $"from {(p.Site.IsConcatenation ? "all sites concatenated" : p.Site.Site)} ({ScoreLine(p.Site)})"));
        string which = predictions.Count == 1 ? "Right" : "Then, left to right";
        string caption = $"Left: the exact belief of every prefix. {which}: a linear probe's prediction of that belief from the network's activations, {from}; each point coloured by its TRUE belief (same colours as the truth means the probe recovered the geometry). Predicted points are not clipped to the simplex.";
        return FigureWriter.Write(panels, panels.Count, directory, name, caption, 700, 660);
    }

    private static string PanelSite(SiteMetrics site) => site.IsConcatenation ? "all sites concatenated" : site.Site;

    private static string ScoreLine(SiteMetrics site) =>
        $"held-out MSE {FigureStyle.FormatMse(site.HeldOutMse)}, R² {site.HeldOutR2.ToString("0.0000", Inv)}";

    /// <summary>Figure 3: predicted geometry across training checkpoints, tokens seen and probe MSE under each panel.</summary>
    public static FigureFile Emergence(
        BeliefPoints truth, IReadOnlyList<CheckpointGeometry> checkpoints, string directory, string name = "emergence", int columns = 4)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Count == 0)
        {
            throw new ArgumentException("checkpoints: need at least one.", nameof(checkpoints));
        }

        var layout = BeliefLayout.Fit(truth);
        var content = ContentLimits(layout, truth.Beliefs, checkpoints.Select(c => c.PredictedBeliefs));
        var panels = new List<Plot>();
        foreach (var c in checkpoints)
        {
            panels.Add(CheckpointPanel(layout, truth, c, content));
        }

        string caption = $"The probe's predicted belief geometry at {checkpoints.Count} checkpoints across training, coloured by the true belief. Under each panel: training tokens seen and held-out probe MSE, which goes from {FigureStyle.FormatMse(checkpoints[0].ProbeMse)} to {FigureStyle.FormatMse(checkpoints[^1].ProbeMse)}.";
        return FigureWriter.Write(panels, columns, directory, name, caption, 420, 440);
    }

    /// <summary>Animated GIF of the predicted geometry across every checkpoint: <c>{directory}/{name}.gif</c>.</summary>
    public static AnimationFile EmergenceAnimation(
        BeliefPoints truth, IReadOnlyList<CheckpointGeometry> checkpoints, string directory, string name = "emergence", int size = 560, int delayCentiseconds = 60)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(checkpoints);
        if (checkpoints.Count == 0)
        {
            throw new ArgumentException("checkpoints: need at least one.", nameof(checkpoints));
        }

        var layout = BeliefLayout.Fit(truth);
        var content = ContentLimits(layout, truth.Beliefs, checkpoints.Select(c => c.PredictedBeliefs));
        var bitmaps = new List<SkiaSharp.SKBitmap>();
        try
        {
            foreach (var c in checkpoints)
            {
                bitmaps.Add(FigureWriter.RenderBitmap([CheckpointPanel(layout, truth, c, content)], 1, size, size));
            }

            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, name + ".gif");
            GifEncoder.Write(bitmaps, path, delayCentiseconds);
            var first = checkpoints[0];
            var last = checkpoints[^1];
            string caption = $"Animation over all {checkpoints.Count} checkpoints, from {FigureStyle.FormatCount(first.TokensSeen)} to {FigureStyle.FormatCount(last.TokensSeen)} tokens: the probe's predicted beliefs, coloured by the true belief (probe MSE {FigureStyle.FormatMse(first.ProbeMse)} → {FigureStyle.FormatMse(last.ProbeMse)}).";
            return new AnimationFile(name, path, caption, size, size, checkpoints.Count);
        }
        finally
        {
            foreach (var b in bitmaps)
            {
                b.Dispose();
            }
        }
    }

    private static Plot CheckpointPanel(BeliefLayout layout, BeliefPoints truth, CheckpointGeometry c, AxisLimits content)
    {
        if (c.PredictedBeliefs.Length != truth.Beliefs.Length)
        {
            throw new ArgumentException($"checkpoints: predictions at {c.TokensSeen} tokens have {c.PredictedBeliefs.Length} values, expected {truth.Beliefs.Length}.");
        }

        var plot = FigureStyle.NewGeometryPlot(
            $"{FigureStyle.FormatCount(c.TokensSeen)} tokens",
            $"{FigureStyle.FormatCount(c.TokensSeen)} tokens seen · MSE {FigureStyle.FormatMse(c.ProbeMse)}",
            "");
        layout.Draw(plot, c.PredictedBeliefs, truth.Beliefs, truth.Weights, content, BeliefLayout.DefaultRadius(truth.Count) * 0.8f);
        return plot;
    }

    /// <summary>Figure 4: validation loss over tokens (log x) against the floor, and relative loss per context position (omitted when no per-position data).</summary>
    public static FigureFile Loss(LossData loss, string directory, string name = "loss")
    {
        ArgumentNullException.ThrowIfNull(loss);
        if (loss.Tokens.Length != loss.ValidationLoss.Length || loss.Tokens.Length == 0)
        {
            throw new ArgumentException($"loss: {loss.Tokens.Length} token counts and {loss.ValidationLoss.Length} losses must match and be non-empty.");
        }

        if (loss.LossPerPosition.Length != loss.FloorPerPosition.Length)
        {
            throw new ArgumentException($"loss: {loss.LossPerPosition.Length} per-position losses but {loss.FloorPerPosition.Length} floors.");
        }

        var curve = FigureStyle.NewPlot("Validation loss during training", "tokens seen (log scale)", "cross-entropy (nats)");
        var logTokens = loss.Tokens.Select(t => Math.Log10(Math.Max(t, 1))).ToArray();
        var line = curve.Add.ScatterLine(logTokens, loss.ValidationLoss, FigureStyle.Palette[0]);
        line.LineWidth = 2.5f;
        line.MarkerSize = loss.Tokens.Length <= 60 ? 6 : 0;
        line.LegendText = "validation loss";
        var floor = curve.Add.HorizontalLine(loss.LossFloor, 2, FigureStyle.Floor, LinePattern.Dashed);
        floor.LegendText = $"floor {loss.LossFloor.ToString("0.0000", Inv)} (mean myopic entropy)";
        FigureStyle.UseLog10Ticks(curve.Axes.Bottom);
        LegendBelow(curve);

        double last = loss.ValidationLoss[^1];
        string curveCaption = $"Validation loss against training tokens (log scale); the dashed line is the loss floor, the best any model can do. Final loss {last.ToString("0.0000", Inv)} nats vs floor {loss.LossFloor.ToString("0.0000", Inv)} ({((last / loss.LossFloor) - 1).ToString("+0.00%;-0.00%", Inv)}).";
        if (loss.LossPerPosition.Length == 0)
        {
            return FigureWriter.Write([curve], 1, directory, name, curveCaption, 900, 520);
        }

        var relative = FigureStyle.NewPlot("Final loss relative to the floor", "context position", "loss / floor");
        int n = loss.LossPerPosition.Length;
        var positions = Enumerable.Range(0, n).Select(p => (double)p).ToArray();
        var ratio = Enumerable.Range(0, n).Select(p => loss.LossPerPosition[p] / loss.FloorPerPosition[p]).ToArray();
        var r = relative.Add.ScatterLine(positions, ratio, FigureStyle.Palette[2]);
        r.LineWidth = 2.5f;
        r.MarkerSize = 7;
        r.LegendText = "model / floor";
        var one = relative.Add.HorizontalLine(1, 2, FigureStyle.Floor, LinePattern.Dashed);
        one.LegendText = "optimal (= 1)";
        relative.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        double top = Math.Max(ratio.Where(double.IsFinite).DefaultIfEmpty(1).Max(), 1);
        double bottom = Math.Min(ratio.Where(double.IsFinite).DefaultIfEmpty(1).Min(), 1);
        double pad = Math.Max((top - bottom) * 0.15, 0.005);
        relative.Axes.SetLimitsY(bottom - pad, top + pad);
        LegendBelow(relative);

        string caption = $"Left: {curveCaption} Right: final loss at each context position divided by that position's floor h(t+1).";
        return FigureWriter.Write([curve, relative], 2, directory, name, caption, 700, 520);
    }

    /// <summary>Figure 5: probe MSE per site for in-sample, held-out, shuffle and untrained, on a log axis.</summary>
    public static FigureFile ProbeErrors(IReadOnlyList<SiteMetrics> sites, string directory, string name = "probe-errors")
    {
        ArgumentNullException.ThrowIfNull(sites);
        if (sites.Count == 0)
        {
            throw new ArgumentException("sites: need at least one probe site.", nameof(sites));
        }

        var plot = FigureStyle.NewPlot("Probe error by residual-stream site", "site", "MSE (log scale)");
        (string Label, Func<SiteMetrics, double> Get)[] series =
        [
            ("in-sample", s => s.InSampleMse),
            ("held-out", s => s.HeldOutMse),
            ("shuffled targets", s => s.ShuffleMse),
            ("untrained model", s => s.UntrainedMse),
        ];
        var all = sites.SelectMany(s => series.Select(x => x.Get(s))).Where(v => v > 0 && double.IsFinite(v)).ToArray();
        double minLog = all.Length > 0 ? Math.Floor(Math.Log10(all.Min())) : -6;
        double maxLog = all.Length > 0 ? Math.Ceiling(Math.Log10(all.Max())) : 0;
        if (maxLog <= minLog)
        {
            maxLog = minLog + 1;
        }

        const double barWidth = 0.2;
        for (int k = 0; k < series.Length; k++)
        {
            var bars = new List<Bar>();
            for (int s = 0; s < sites.Count; s++)
            {
                double v = series[k].Get(sites[s]);
                double logV = v > 0 && double.IsFinite(v) ? Math.Log10(v) : minLog;
                bars.Add(new Bar
                {
                    Position = s + ((k - 1.5) * barWidth),
                    Value = logV,
                    ValueBase = minLog,
                    Size = barWidth * 0.92,
                    FillColor = FigureStyle.Palette[k],
                    LineWidth = 0,
                });
            }

            var barPlot = plot.Add.Bars(bars);
            barPlot.LegendText = series[k].Label;
        }

        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int s = 0; s < sites.Count; s++)
        {
            ticks.AddMajor(s, sites[s].IsConcatenation ? "concat" : ShortSite(sites[s].Site));
        }

        plot.Axes.Bottom.TickGenerator = ticks;
        FigureStyle.UseLog10Ticks(plot.Axes.Left);
        plot.Axes.SetLimits(-0.6, sites.Count - 0.4, minLog, maxLog + 0.2);
        LegendBelow(plot);

        var best = sites.OrderBy(s => s.HeldOutMse).First();
        string caption = $"Mean squared error of a linear probe from each residual-stream site to the belief state (log scale). Held-out is on sequences the probe never saw; shuffled targets and an untrained model are controls that should stay high. Lowest held-out error: {best.Site} ({best.HeldOutMse.ToString("0.000000", Inv)}).";
        int width = Math.Max(900, (120 * sites.Count) + 200);
        return FigureWriter.Write([plot], 1, directory, name, caption, width, 560);
    }

    /// <summary>"blocks.3.hook_resid_post" → "L3 post", "layers.3.hook_hidden" → "L3 hidden"; other names pass through.</summary>
    public static string ShortSite(string site)
    {
        ArgumentNullException.ThrowIfNull(site);
        var m = System.Text.RegularExpressions.Regex.Match(site, @"^blocks\.(\d+)\.hook_resid_(pre|mid|post)$");
        if (m.Success)
        {
            return $"L{m.Groups[1].Value} {m.Groups[2].Value}";
        }

        var hidden = System.Text.RegularExpressions.Regex.Match(site, @"^layers\.(\d+)\.hook_hidden$"); // a recurrent layer's output
        if (hidden.Success)
        {
            return $"L{hidden.Groups[1].Value} hidden";
        }

        return site == "ln_final.hook_normalized" ? "ln_final" : site;
    }

    /// <summary>
    /// Figure 6: 2-D histograms of the pairwise distances of a <see cref="DistanceAnalysis"/> (computed with
    /// <c>keepPairs</c>): predicted against true beliefs and predicted against next-token distributions. Draws exactly
    /// the analysis's pairs and prints exactly its R² values; computes nothing.
    /// </summary>
    public static FigureFile Distances(DistanceAnalysis analysis, string directory, string name = "distances", int bins = 80)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        var pairs = analysis.PairDistances
            ?? throw new ArgumentException("analysis: has no pair distances; compute it with keepPairs: true.", nameof(analysis));
        double r2Belief = analysis.R2PredictedVsTrueBeliefs;
        double r2Next = analysis.R2PredictedVsNextToken;
        var left = Histogram2D(pairs.TrueBeliefs, pairs.Predicted, bins, $"vs belief distance (R² = {r2Belief.ToString("0.000", Inv)})", "distance between true beliefs");
        var right = Histogram2D(pairs.NextToken, pairs.Predicted, bins, $"vs next-token distance (R² = {r2Next.ToString("0.000", Inv)})", "distance between next-token distributions");
        string caption = $"Euclidean distances between all {analysis.Pairs:N0} pairs of {analysis.Points:N0} randomly chosen prefixes: between the probe's predicted beliefs (y) against between their true beliefs (left, R² {r2Belief.ToString("0.000", Inv)}) and between their next-token distributions (right, R² {r2Next.ToString("0.000", Inv)}). Colour is log count. {(r2Belief > r2Next ? "Predicted distances follow the belief geometry more closely than the next-token distributions." : "Here the next-token distances explain the predicted distances at least as well as the belief distances.")}";
        return FigureWriter.Write([left, right], 2, directory, name, caption, 680, 600);
    }

    private static Plot Histogram2D(double[] xs, double[] ys, int bins, string title, string xLabel)
    {
        var plot = FigureStyle.NewPlot(title, xLabel, "distance between predicted beliefs");
        double xMax = Math.Max(xs.Where(double.IsFinite).DefaultIfEmpty(1).Max(), 1e-12);
        double yMax = Math.Max(ys.Where(double.IsFinite).DefaultIfEmpty(1).Max(), 1e-12);
        var counts = new double[bins, bins];
        for (int k = 0; k < xs.Length; k++)
        {
            if (!double.IsFinite(xs[k]) || !double.IsFinite(ys[k]))
            {
                continue;
            }

            int bx = Math.Min((int)(xs[k] / xMax * bins), bins - 1);
            int by = Math.Min((int)(ys[k] / yMax * bins), bins - 1);
            counts[bins - 1 - by, bx] += 1; // row 0 is drawn at the top
        }

        for (int r = 0; r < bins; r++)
        {
            for (int c = 0; c < bins; c++)
            {
                counts[r, c] = counts[r, c] > 0 ? Math.Log10(counts[r, c]) + 1 : double.NaN;
            }
        }

        var heatmap = plot.Add.Heatmap(counts);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.NaNCellColor = Colors.White;
        heatmap.Extent = new CoordinateRect(0, xMax, 0, yMax);
        plot.HideGrid();
        plot.Axes.SetLimits(0, xMax, 0, yMax);
        return plot;
    }

    /// <summary>
    /// Figure 7: cumulative explained variance of the PCA of one site's activations (<see cref="PcaResult"/>, computed by
    /// Analysis), with its 80/90/95/99% component counts marked.
    /// </summary>
    public static FigureFile PcaSpectrum(PcaResult spectrum, string siteLabel, string directory, string name = "pca-spectrum")
    {
        ArgumentNullException.ThrowIfNull(spectrum);
        var cumulative = spectrum.Cumulative;
        var plot = FigureStyle.NewPlot($"PCA of the activations ({siteLabel})", "number of principal components", "cumulative explained variance");
        var xs = Enumerable.Range(1, cumulative.Length).Select(k => (double)k).ToArray();
        var line = plot.Add.ScatterLine(xs, cumulative, FigureStyle.Palette[0]);
        line.LineWidth = 2.5f;
        line.MarkerSize = cumulative.Length <= 64 ? 5 : 0;
        line.LegendText = "cumulative";
        var single = plot.Add.Bars(xs, spectrum.ExplainedRatio);
        single.Color = FigureStyle.Palette[4].WithAlpha(0.6);
        single.LegendText = "per component";
        foreach (var bar in single.Bars)
        {
            bar.LineWidth = 0;
        }

        // One marker per component that first reaches a threshold (coinciding thresholds share it); the text is in
        // the legend outside the data area, so no label can cover the curve, the bars or another label.
        MarkerShape[] shapes = [MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledDiamond, MarkerShape.FilledTriangleUp];
        var markers = ThresholdMarkers(spectrum);
        for (int m = 0; m < markers.Count; m++)
        {
            var marker = plot.Add.Marker(markers[m].Component, markers[m].Cumulative, shapes[m % shapes.Length], 12, FigureStyle.Palette[5]);
            marker.LegendText = markers[m].Label;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.Axes.SetLimits(0.3, cumulative.Length + 0.7, 0, 1.05);
        LegendBelow(plot);
        string needed = string.Join(", ", markers.Select(m => m.Label));
        string caption = $"Explained variance of the principal components of the activations at {siteLabel}: bars per component, line cumulative, markers where the cumulative variance first reaches {string.Join("/", DefaultThresholds.Select(t => t.ToString("0%", Inv)))}: {needed} (of {cumulative.Length}).";
        return FigureWriter.Write([plot], 1, directory, name, caption, 900, 600);
    }

    /// <summary>The explained-variance thresholds the PCA figure marks.</summary>
    public static IReadOnlyList<double> DefaultThresholds { get; } = [0.80, 0.90, 0.95, 0.99];

    /// <summary>
    /// The PCA figure's markers: one per component that first reaches one or more thresholds, in component order,
    /// with one label naming every threshold it reaches ("80% and 90% of variance: 2 components"). Thresholds the
    /// spectrum never reaches (no variance at all) get no marker.
    /// </summary>
    public static IReadOnlyList<ThresholdMarker> ThresholdMarkers(PcaResult spectrum, IReadOnlyList<double>? thresholds = null)
    {
        ArgumentNullException.ThrowIfNull(spectrum);
        thresholds ??= DefaultThresholds;
        var byComponent = new SortedDictionary<int, List<double>>();
        foreach (double t in thresholds.Order())
        {
            int k = spectrum.ComponentsFor(t);
            if (k < 1 || spectrum.Cumulative[k - 1] < t - 1e-12)
            {
                continue;
            }

            if (!byComponent.TryGetValue(k, out var list))
            {
                byComponent[k] = list = [];
            }

            list.Add(t);
        }

        return byComponent.Select(kv =>
        {
            var names = kv.Value.Select(t => t.ToString("0.#%", Inv)).ToList();
            string reached = names.Count == 1 ? names[0] : $"{string.Join(", ", names.Take(names.Count - 1))} and {names[^1]}";
            string components = kv.Key == 1 ? "1 component" : $"{kv.Key} components";
            return new ThresholdMarker(kv.Key, spectrum.Cumulative[kv.Key - 1], kv.Value, $"{reached} of variance: {components}");
        }).ToList();
    }

    /// <summary>Legend in its own panel under the x axis label, outside the data area, items side by side.</summary>
    private static void LegendBelow(Plot plot)
    {
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.Orientation = Orientation.Horizontal;
        StyleLegend(plot);
    }

    private static void StyleLegend(Plot plot)
    {
        plot.Legend.FontSize = FigureStyle.TickSize;
        plot.Legend.FontName = FigureStyle.FontName;
        plot.Legend.OutlineColor = FigureStyle.Grid;
    }

    /// <summary>
    /// One content box for the truth and every prediction: the truth's box (<see cref="BeliefLayout.TruthContent"/>),
    /// widened to show predictions outside it, but by at most 30% of the box on each side so a few wild
    /// early-training points cannot shrink the picture to nothing. Points beyond are left out, not moved.
    /// </summary>
    public static AxisLimits ContentLimits(BeliefLayout layout, double[] truth, IEnumerable<double[]> predictions)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(predictions);
        var box = layout.TruthContent(truth);
        double left = box.Left, right = box.Right, bottom = box.Bottom, top = box.Top;
        double maxGrowX = (right - left) * 0.3, maxGrowY = (top - bottom) * 0.3;
        double minX = left - maxGrowX, maxX = right + maxGrowX, minY = bottom - maxGrowY, maxY = top + maxGrowY;
        foreach (var predicted in predictions)
        {
            var (xs, ys) = layout.Project(predicted);
            foreach (double x in xs.Where(double.IsFinite))
            {
                left = Math.Max(Math.Min(left, x - 0.02), minX);
                right = Math.Min(Math.Max(right, x + 0.02), maxX);
            }

            foreach (double y in ys.Where(double.IsFinite))
            {
                bottom = Math.Max(Math.Min(bottom, y - 0.02), minY);
                top = Math.Min(Math.Max(top, y + 0.02), maxY);
            }
        }

        return new AxisLimits(left, right, bottom, top);
    }

    private static string Pct(double v) => v.ToString("0.0%", Inv);
}

/// <summary>A PCA-figure marker: the first component whose cumulative variance reaches each of <see cref="Thresholds"/>.</summary>
public sealed record ThresholdMarker(int Component, double Cumulative, IReadOnlyList<double> Thresholds, string Label);
