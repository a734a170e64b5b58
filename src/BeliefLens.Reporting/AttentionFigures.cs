using System.Globalization;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>One head as measured: the decay fit, the normalised profile (n = 0..P−1) and the OV vectors in belief coordinates.</summary>
public sealed record AttentionHeadView(int Layer, int Head, double LambdaFit, double FitR2, double[] Profile, double[][] OvBelief, double[] OvCosine);

/// <summary>One eigenvalue of T as the figures draw it.</summary>
public sealed record EigenvalueView(double Real, double Imaginary, int Multiplicity, bool Relevant, int Heads);

/// <summary>A probe site's RMSE to the constrained and to the exact beliefs (held-out).</summary>
public sealed record RmseRow(string Site, double? Constrained, double? Exact)
{
    /// <summary>RMSE to the softmax-normalised constrained beliefs.</summary>
    public double? Normalised { get; init; }
}

/// <summary>
/// Everything the attention figures and report section draw, computed elsewhere (Core, Analysis, the Torch runner).
/// Belief arrays are flat [points, S] per distinct prefix, with <see cref="Weights"/> = P(prefix).
/// </summary>
public sealed record AttentionView(
    string Process,
    string Checkpoint,
    int StateCount,
    IReadOnlyList<EigenvalueView> Eigenvalues,
    int PredictedHeads,
    IReadOnlyList<AttentionHeadView> Heads,
    double[] Stationary,
    double[]?[] Shifts,
    IReadOnlyList<RmseRow> Rmse,
    string? ConstrainedUndefined)
{
    public required double[] Exact { get; init; }

    public double[]? Constrained { get; init; }

    public required double[] Weights { get; init; }

    public required double[] Layer0ToExact { get; init; }

    public double[]? Layer0ToConstrained { get; init; }

    /// <summary>The softmax-normalised constrained beliefs and layer 0's probe prediction of them.</summary>
    public double[]? Normalised { get; init; }

    public double[]? Layer0ToNormalised { get; init; }

    /// <summary>|λ| of each relevant nontrivial eigenvalue: the decays the theory draws (softmax can only fit |λ|).</summary>
    public IReadOnlyList<double> TheoryDecays =>
        Eigenvalues.Where(e => e.Relevant && e.Imaginary >= 0 && Math.Abs(e.Real - 1) > 1e-7 && Math.Abs(e.Real) + Math.Abs(e.Imaginary) > 1e-7)
            .Select(e => Math.Sqrt((e.Real * e.Real) + (e.Imaginary * e.Imaginary))).Distinct().ToList();
}

/// <summary>The four figures of <c>belieflens attention</c> and its report section. Draws numbers it is given; computes none.</summary>
public static class AttentionFigures
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Attention against distance per head (log scale): the normalised profile, the fitted λ̂ⁿ and the theory's |λ|ⁿ.</summary>
    public static FigureFile AttentionByDistance(AttentionView view, string directory, string name = "attention-by-distance")
    {
        ArgumentNullException.ThrowIfNull(view);
        var panels = new List<Plot>();
        foreach (var head in view.Heads)
        {
            var plot = FigureStyle.NewPlot($"Layer {head.Layer}, head {head.Head}: λ̂ = {F(head.LambdaFit)}, R² = {F(head.FitR2)}", "query − key distance n", "attention (per-query normalised)");
            int count = head.Profile.Length;
            var xs = Enumerable.Range(0, count).Select(n => (double)n).ToArray();
            var measured = Log10Points(xs, head.Profile);
            if (measured.Xs.Length > 0)
            {
                var markers = plot.Add.Markers(measured.Xs, measured.Ys, MarkerShape.FilledCircle, 9, FigureStyle.Palette[0]);
                markers.LegendText = "measured";
            }

            if (double.IsFinite(head.LambdaFit) && head.LambdaFit > 0)
            {
                var fit = plot.Add.ScatterLine(xs, xs.Select(n => n * Math.Log10(head.LambdaFit)).ToArray(), FigureStyle.Palette[1]);
                fit.LineWidth = 2;
                fit.LegendText = $"fit λ̂ⁿ, λ̂ = {F(head.LambdaFit)}";
            }

            int k = 2;
            foreach (double decay in view.TheoryDecays)
            {
                var theory = plot.Add.ScatterLine(xs, xs.Select(n => n * Math.Log10(decay)).ToArray(), FigureStyle.Palette[k++ % FigureStyle.Palette.Length]);
                theory.LinePattern = LinePattern.Dashed;
                theory.LineWidth = 2;
                theory.LegendText = $"theory |λ|ⁿ, |λ| = {F(decay)}";
            }

            FigureStyle.UseLog10Ticks(plot.Axes.Left);
            plot.ShowLegend(Edge.Bottom);
            panels.Add(plot);
        }

        string caption = "Mean attention weight against query–key distance for each head, from hook_pattern over the exact input set weighted by "
            + "probability, with each query's softmax normaliser removed by the fit log A(q, q−n) = a_q + n·log λ̂ (distances 1..n_ctx−1); "
            + "dashed: the theory's decay |λ|ⁿ for each relevant eigenvalue of T (a softmax can only produce |λ|).";
        return FigureWriter.Write(panels, Math.Min(panels.Count, 3), directory, name, caption, 640, 600);
    }

    /// <summary>Each head's OV vector per token, in belief coordinates, drawn from π beside the theory's Δz (scaled to |Δz|).</summary>
    public static FigureFile OvVectors(AttentionView view, string directory, string name = "attention-ov-vectors")
    {
        ArgumentNullException.ThrowIfNull(view);
        var layout = BeliefLayout.Fit(new BeliefPoints(view.Exact, view.StateCount, view.Weights));
        var content = layout.TruthContent(view.Exact);
        int s = view.StateCount;
        var panels = new List<Plot>();
        foreach (var head in view.Heads)
        {
            var plot = FigureStyle.NewGeometryPlot($"Layer {head.Layer}, head {head.Head}: OV vs Δz", layout.XLabel, layout.YLabel);
            var truth = layout.Project(view.Exact);
            var cloud = plot.Add.Markers(truth.Xs, truth.Ys, MarkerShape.FilledCircle, 2, Colors.Gray.WithAlpha(0.25));
            cloud.LegendText = "exact beliefs";
            var origin = Point(layout, view.Stationary, null, 0);
            for (int z = 0; z < head.OvBelief.Length; z++)
            {
                if (view.Shifts[z] is not { } delta)
                {
                    continue;
                }

                double length = Norm(delta), ovLength = Norm(head.OvBelief[z]);
                var colour = FigureStyle.Palette[z % FigureStyle.Palette.Length];
                var tipDelta = Point(layout, view.Stationary, delta, 1);
                var theory = plot.Add.Line(origin.X, origin.Y, tipDelta.X, tipDelta.Y);
                theory.LineColor = colour.WithAlpha(0.55);
                theory.LineWidth = 6;
                theory.LegendText = z == 0 ? "Δz (theory)" : string.Empty;
                if (ovLength > 0)
                {
                    var tip = Point(layout, view.Stationary, head.OvBelief[z], length / ovLength);
                    var ov = plot.Add.Line(origin.X, origin.Y, tip.X, tip.Y);
                    ov.LineColor = colour;
                    ov.LineWidth = 2;
                    ov.LinePattern = LinePattern.Dashed;
                    ov.LegendText = $"token {z}: OV, cos {F(head.OvCosine[z])}";
                }
            }

            plot.Axes.SetLimits(content);
            plot.ShowLegend(Edge.Bottom);
            panels.Add(plot);
        }

        string caption = "Each head's OV output for token z, W_E[z]·W_V·W_O, mapped into belief coordinates by the linear part of the probe "
            + "fitted at that layer's output (dashed, rescaled to the length of Δz: only its direction is compared), beside the theory's "
            + "one-token belief shift Δz = η⁽ᶻ⁾ − π (wide, faint), both drawn from π over the exact belief geometry.";
        return FigureWriter.Write(panels, Math.Min(panels.Count, 3), directory, name, caption, 640, 640);
    }

    /// <summary>The exact and the constrained belief geometries side by side, each with layer 0's probe prediction over it.</summary>
    public static FigureFile Geometries(AttentionView view, string directory, string name = "attention-geometries")
    {
        ArgumentNullException.ThrowIfNull(view);
        var layout = BeliefLayout.Fit(new BeliefPoints(view.Exact, view.StateCount, view.Weights));
        var sets = new List<(string Title, double[] Truth, double[] Predicted, double? Rmse)>
        {
            ("Exact beliefs", view.Exact, view.Layer0ToExact, view.Rmse.FirstOrDefault(r => r.Site == "blocks.0.hook_resid_post")?.Exact),
        };
        if (view.Constrained is { } constrained && view.Layer0ToConstrained is { } predicted)
        {
            sets.Add(("Constrained beliefs", constrained, predicted, view.Rmse.FirstOrDefault(r => r.Site == "blocks.0.hook_resid_post")?.Constrained));
        }

        if (view.Normalised is { } normalised && view.Layer0ToNormalised is { } predictedNormalised)
        {
            sets.Add(("Constrained, softmax-normalised", normalised, predictedNormalised, view.Rmse.FirstOrDefault(r => r.Site == "blocks.0.hook_resid_post")?.Normalised));
        }

        var panels = new List<Plot>();
        foreach (var (title, truth, prediction, rmse) in sets)
        {
            // Each panel on its own scale: the unnormalised constrained beliefs spread far beyond the simplex.
            var content = Figures.ContentLimits(layout, truth, [prediction]);
            var plot = FigureStyle.NewGeometryPlot(title, $"layer-0 probe RMSE {F(rmse ?? double.NaN)}", string.Empty);
            var points = layout.Project(truth);
            var cloud = plot.Add.Markers(points.Xs, points.Ys, MarkerShape.FilledCircle, 3, Colors.Gray.WithAlpha(0.35));
            cloud.LegendText = "target (grey)";
            layout.Draw(plot, prediction, truth, view.Weights, content);
            plot.Axes.SetLimits(content);
            panels.Add(plot);
        }

        string caption = "Left: the exact belief of every prefix (grey) with layer 0's output (blocks.0.hook_resid_post) probed to it (coloured by "
            + "the target). Middle: the constrained first-order beliefs π + Σ λ^(d−s) Δ(z_s) (grey), with layer 0's output probed to them. "
            + "Right: the same divided by the softmax normaliser Σ_(n<d) |λ|ⁿ, what a single attention layer can hold. The theory predicts the "
            + "constrained fits are the tighter ones.";
        return FigureWriter.Write(panels, panels.Count, directory, name, caption, 640, 640);
    }

    /// <summary>The eigenvalues of T in the complex plane with the unit circle; relevant ones coloured, with the predicted head count.</summary>
    public static FigureFile Spectrum(AttentionView view, string directory, string name = "attention-spectrum")
    {
        ArgumentNullException.ThrowIfNull(view);
        var plot = FigureStyle.NewPlot($"Spectrum of T: predicted heads = {view.PredictedHeads}", "Re λ", "Im λ");
        var circle = Enumerable.Range(0, 361).Select(i => i * Math.PI / 180).ToArray();
        var unit = plot.Add.ScatterLine(circle.Select(Math.Cos).ToArray(), circle.Select(Math.Sin).ToArray(), Colors.Gray);
        unit.LegendText = "|λ| = 1";
        foreach (bool relevant in new[] { true, false })
        {
            var group = view.Eigenvalues.Where(e => e.Relevant == relevant).ToArray();
            if (group.Length == 0)
            {
                continue;
            }

            var markers = plot.Add.Markers(group.Select(e => e.Real).ToArray(), group.Select(e => e.Imaginary).ToArray(), MarkerShape.FilledCircle, 14,
                relevant ? FigureStyle.Palette[0] : Colors.Gray);
            markers.LegendText = relevant ? "reached by a one-token shift" : "not reached (or λ = 1)";
            foreach (var e in group)
            {
                var label = plot.Add.Text($"{FormatValue(e)}{(e.Multiplicity > 1 ? $" ×{e.Multiplicity}" : string.Empty)}{(e.Heads > 0 ? $", {e.Heads} head{(e.Heads > 1 ? "s" : string.Empty)}" : string.Empty)}", e.Real, e.Imaginary);
                label.LabelFontSize = 13;
                label.LabelOffsetX = 8;
                label.LabelOffsetY = relevant ? -30 : 10; // relevant labels above, the others below: near values do not overlap
            }
        }

        plot.Axes.SquareUnits();
        plot.Axes.SetLimits(-1.3, 1.3, -1.3, 1.3);
        plot.ShowLegend(Edge.Bottom);
        string caption = $"Eigenvalues of T = Σx T^(x) for {view.Process}, with multiplicity. Each distinct eigenvalue a one-token shift reaches needs "
            + "its own decay profile: 1 head for 0 < λ < 1, 2 for λ < 0 (even and odd distances), 2 or 3 for a complex pair (3 once the rotation "
            + "passes a half-turn within the context), none for λ = 0. Predicted minimal heads: " + view.PredictedHeads.ToString(Inv) + ".";
        return FigureWriter.Write([plot], 1, directory, name, caption, 720, 720);
    }

    /// <summary>The report section: the RMSE table, the fits per head, and the four figures.</summary>
    public static ReportSection Section(AttentionView view, IReadOnlyList<FigureFile> figures)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(figures);
        var headLines = view.Heads.Select(h =>
            $"layer {h.Layer} head {h.Head}: λ̂ {F(h.LambdaFit)} (R² {F(h.FitR2)}), OV cosines {string.Join(" / ", h.OvCosine.Select(F))}");
        string text = $"Process {view.Process}; model {view.Checkpoint}. Eigenvalues of T: "
            + string.Join(", ", view.Eigenvalues.Select(e => FormatValue(e) + (e.Multiplicity > 1 ? $" (×{e.Multiplicity})" : string.Empty)))
            + $"; predicted minimal heads {view.PredictedHeads}. " + string.Join("; ", headLines) + "."
            + (view.ConstrainedUndefined is null ? string.Empty : " " + view.ConstrainedUndefined);
        var table = new ReportTable(
            "Held-out RMSE of affine probes (fit on 20% of the sequences, probability-weighted) to the constrained and to the exact beliefs",
            ["site", "to constrained", "to constrained (softmax-normalised)", "to exact", "closest"],
            view.Rmse.Select(r => (IReadOnlyList<string>)[r.Site, F(r.Constrained ?? double.NaN), F(r.Normalised ?? double.NaN), F(r.Exact ?? double.NaN), Closest(r)]).ToList());
        return new ReportSection("How attention builds beliefs: the constrained update", figures.Select(f => ReportFigure.From(f)).ToList(), text, table);
    }

    private static string Closest(RmseRow r) =>
        new[] { ("constrained", r.Constrained), ("constrained, normalised", r.Normalised), ("exact", r.Exact) }
            .Where(t => t.Item2 is not null).OrderBy(t => t.Item2).Select(t => t.Item1).FirstOrDefault() ?? "—";

    private static string FormatValue(EigenvalueView e) =>
        Math.Abs(e.Imaginary) < 1e-9 ? F(e.Real) : $"{F(e.Real)}{(e.Imaginary < 0 ? "−" : "+")}{F(Math.Abs(e.Imaginary))}i";

    private static (double X, double Y) Point(BeliefLayout layout, double[] origin, double[]? direction, double scale)
    {
        var point = origin.Select((o, i) => o + (direction is null ? 0 : scale * direction[i])).ToArray();
        var (xs, ys) = layout.Project(point);
        return (xs[0], ys[0]);
    }

    private static (double[] Xs, double[] Ys) Log10Points(double[] xs, double[] values)
    {
        var keep = Enumerable.Range(0, xs.Length).Where(i => double.IsFinite(values[i]) && values[i] > 0).ToArray();
        return (keep.Select(i => xs[i]).ToArray(), keep.Select(i => Math.Log10(values[i])).ToArray());
    }

    private static double Norm(double[] v) => Math.Sqrt(v.Sum(x => x * x));

    private static string F(double x) => double.IsFinite(x) ? x.ToString("0.0000", Inv) : "n/a";
}
