using System.Globalization;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>One axis of a sweep: its path and, when its values are not all numbers, their categories in order.</summary>
public sealed record SweepAxis(string Path, IReadOnlyList<string>? Categories);

/// <summary>A finished job as the comparison report sees it: plain numbers and arrays, no run-directory knowledge.</summary>
public sealed record SweepJobFigureData(
    string Id,
    string Label,
    IReadOnlyDictionary<string, double> AxisPositions,
    IReadOnlyDictionary<string, double> Metrics,
    string HeadlineSite,
    long[] CurveTokens,
    double[] CurveMse,
    BeliefPoints? Truth,
    double[]? Predicted);

/// <summary>The sweep comparison: metrics against each axis, probe error against tokens, and every job's geometry.</summary>
public static class SweepReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Panels: one row per metric, one column per axis; each job a point, the mean over the other axes a line.</summary>
    public static FigureFile MetricsAgainstAxes(
        IReadOnlyList<SweepJobFigureData> jobs, IReadOnlyList<SweepAxis> axes, IReadOnlyList<(string Key, string Label, bool Log)> metrics, string directory, string name = "metrics-by-axis")
    {
        ArgumentNullException.ThrowIfNull(jobs);
        ArgumentNullException.ThrowIfNull(axes);
        ArgumentNullException.ThrowIfNull(metrics);
        var panels = new List<Plot>();
        foreach (var (key, label, log) in metrics)
        {
            foreach (var axis in axes)
            {
                var plot = FigureStyle.NewPlot($"{label} vs {axis.Path}", axis.Path, log ? label + " (log scale)" : label);
                var points = jobs.Where(j => j.Metrics.TryGetValue(key, out double v) && double.IsFinite(v) && (!log || v > 0) && j.AxisPositions.ContainsKey(axis.Path))
                    .Select(j => (X: j.AxisPositions[axis.Path], Y: log ? Math.Log10(j.Metrics[key]) : j.Metrics[key]))
                    .ToList();
                if (points.Count > 0)
                {
                    var markers = plot.Add.Markers(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray(), MarkerShape.FilledCircle, 9, FigureStyle.Palette[0].WithAlpha(0.6));

                    var means = points.GroupBy(p => p.X).OrderBy(g => g.Key).Select(g => (X: g.Key, Y: g.Average(p => p.Y))).ToArray();
                    var line = plot.Add.ScatterLine(means.Select(m => m.X).ToArray(), means.Select(m => m.Y).ToArray(), FigureStyle.Palette[1]);
                    line.LineWidth = 2.5f;
                    line.MarkerSize = 0;
                }

                if (log)
                {
                    // Metrics can span less than a decade: label any tick with its value, not only powers of ten.
                    plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
                    {
                        LabelFormatter = v => Math.Pow(10, v).ToString("G3", Inv),
                        TargetTickCount = 5,
                    };
                }

                if (axis.Categories is null && points.Count > 0)
                {
                    double lo = points.Min(p => p.X), hi = points.Max(p => p.X);
                    double pad = hi > lo ? (hi - lo) * 0.08 : 0.5;
                    plot.Axes.SetLimitsX(lo - pad, hi + pad);
                    if (points.All(p => p.X == Math.Round(p.X)))
                    {
                        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
                    }
                }

                if (axis.Categories is { } categories)
                {
                    var ticks = new ScottPlot.TickGenerators.NumericManual();
                    for (int c = 0; c < categories.Count; c++)
                    {
                        ticks.AddMajor(c, categories[c]);
                    }

                    plot.Axes.Bottom.TickGenerator = ticks;
                    plot.Axes.SetLimitsX(-0.5, categories.Count - 0.5);
                }

                panels.Add(plot);
            }
        }

        string caption = $"Each headline metric (rows) against each axis of the sweep (columns). Every point is one job; the orange line joins the means over the jobs that share the axis value, i.e. averaged over the other axes. {jobs.Count} finished jobs.";
        return FigureWriter.Write(panels, Math.Max(1, axes.Count), directory, name, caption, 560, 440);
    }

    /// <summary>One curve per job: held-out probe MSE at its headline site against tokens seen, both on log scales.</summary>
    public static FigureFile ProbeCurves(IReadOnlyList<SweepJobFigureData> jobs, string directory, string name = "probe-vs-tokens")
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var plot = FigureStyle.NewPlot("Probe error during training, every job", "tokens seen (log scale)", "held-out probe MSE (log scale)");
        for (int k = 0; k < jobs.Count; k++)
        {
            var job = jobs[k];
            var pairs = job.CurveTokens.Zip(job.CurveMse).Where(p => p.First > 0 && p.Second > 0 && double.IsFinite(p.Second)).ToArray();
            if (pairs.Length == 0)
            {
                continue;
            }

            var line = plot.Add.ScatterLine(pairs.Select(p => Math.Log10(p.First)).ToArray(), pairs.Select(p => Math.Log10(p.Second)).ToArray(), FigureStyle.Palette[k % FigureStyle.Palette.Length]);
            line.LineWidth = 2;
            line.MarkerSize = 5;
            line.LinePattern = (k / FigureStyle.Palette.Length) % 2 == 0 ? LinePattern.Solid : LinePattern.Dashed;
            line.LegendText = job.Label;
        }

        FigureStyle.UseLog10Ticks(plot.Axes.Bottom);
        FigureStyle.UseLog10Ticks(plot.Axes.Left);
        if (jobs.Count <= 24)
        {
            plot.ShowLegend(Alignment.UpperRight);
            plot.Legend.FontSize = 11;
        }

        string caption = "Held-out MSE of the linear probe at each job's headline site (the deepest residual-stream site probed at every checkpoint) at every probed checkpoint, against the tokens the model had seen. Lower is better; curves that keep falling had not converged.";
        return FigureWriter.Write([plot], 1, directory, name, caption, 1000, 640);
    }

    /// <summary>Small multiples: each job's final predicted belief geometry, coloured by the true belief.</summary>
    public static FigureFile Geometries(IReadOnlyList<SweepJobFigureData> jobs, string directory, string name = "geometries", int columns = 4)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        var drawable = jobs.Where(j => j.Truth is not null && j.Predicted is not null).ToList();
        if (drawable.Count == 0)
        {
            throw new ArgumentException("jobs: none has a predicted geometry to draw.", nameof(jobs));
        }

        var panels = new List<Plot>();
        foreach (var job in drawable)
        {
            var layout = BeliefLayout.Fit(job.Truth!);
            string mse = job.Metrics.TryGetValue("headline_mse", out double m) ? $"MSE {FigureStyle.FormatMse(m)}" : string.Empty;
            var plot = FigureStyle.NewGeometryPlot(job.Label, $"{Figures.ShortSite(job.HeadlineSite)}  {mse}", string.Empty);
            plot.Axes.Title.Label.FontSize = 13;
            var content = Figures.ContentLimits(layout, job.Truth!.Beliefs, [job.Predicted!]);
            layout.Draw(plot, job.Predicted!, job.Truth.Beliefs, job.Truth.Weights, content);
            panels.Add(plot);
        }

        string caption = $"The final probe's predicted belief of every prefix, one panel per job ({drawable.Count} jobs), each point coloured by its true belief: the same picture in every panel means every job learned the geometry. Panels are titled by the job's overrides; the x label names the probed site and its held-out MSE.";
        return FigureWriter.Write(panels, Math.Min(columns, panels.Count), directory, name, caption, 420, 420);
    }

    /// <summary>Writes the self-contained comparison report.</summary>
    public static void Write(string title, string summary, string manifestExcerpt, IReadOnlyList<FigureFile> figures, ReportTable table, string path)
    {
        ArgumentNullException.ThrowIfNull(figures);
        var sections = new List<ReportSection>
        {
            new("Headline metrics against each axis", [ReportFigure.From(figures[0])]),
            new("Probe error against tokens seen", [ReportFigure.From(figures[1])]),
        };
        if (figures.Count > 2)
        {
            sections.Add(new ReportSection("Final predicted geometry of every job", [ReportFigure.From(figures[2])]));
        }

        sections.Add(new ReportSection("Results", [], Table: table));
        string html = HtmlReport.Render(new ReportModel(title, summary, manifestExcerpt, sections, []));
        string temp = path + ".tmp";
        File.WriteAllText(temp, html);
        File.Move(temp, path, overwrite: true);
    }

    public static string Number(double value) => value.ToString("G6", Inv);
}
