using BeliefLens.Analysis;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>
/// A set of beliefs (flat <c>[N][StateCount]</c>) with optional per-point weights (e.g. prefix probabilities),
/// which scale marker opacity so that rare prefixes do not dominate the picture.
/// </summary>
public sealed record BeliefPoints
{
    public BeliefPoints(double[] beliefs, int stateCount, double[]? weights = null)
    {
        ArgumentNullException.ThrowIfNull(beliefs);
        if (stateCount < 1 || beliefs.Length % stateCount != 0)
        {
            throw new ArgumentException($"beliefs: length {beliefs.Length} is not a multiple of stateCount {stateCount}.", nameof(beliefs));
        }

        if (weights is not null && weights.Length != beliefs.Length / stateCount)
        {
            throw new ArgumentException($"weights: {weights.Length} weights for {beliefs.Length / stateCount} beliefs.", nameof(weights));
        }

        Beliefs = beliefs;
        StateCount = stateCount;
        Weights = weights;
    }

    public double[] Beliefs { get; }
    public int StateCount { get; }
    public double[]? Weights { get; }
    public int Count => Beliefs.Length / StateCount;
}

/// <summary>
/// Where beliefs land on the page and what colour they get. Fitted once on the true beliefs, then applied to
/// predictions too, so that a predicted point has the colour of the belief it should have been.
/// </summary>
public sealed class BeliefLayout
{
    private readonly Pca? _pca;
    private readonly Pca? _colourPca;
    private readonly double[] _colourMin = new double[3];
    private readonly double[] _colourMax = new double[3];

    private BeliefLayout(int stateCount, Pca? pca, Pca? colourPca)
    {
        StateCount = stateCount;
        _pca = pca;
        _colourPca = colourPca;
    }

    public int StateCount { get; }

    /// <summary>True when the picture is the 2-simplex (3 states); otherwise a 2-D PCA of the beliefs.</summary>
    public bool IsSimplex => StateCount == 3;

    public string XLabel => IsSimplex ? "x = b₁ + b₂/2" : "PC 1";
    public string YLabel => IsSimplex ? "y = (√3/2)·b₂" : "PC 2";

    /// <summary>Explained variance ratio of the two drawn components (PCA layouts only), as <see cref="Pca"/> computed it.</summary>
    public (double Pc1, double Pc2)? DrawnVariance =>
        _pca is null ? null : (_pca.Spectrum.ExplainedRatio[0], _pca.Dimension > 1 ? _pca.Spectrum.ExplainedRatio[1] : 0);

    public static BeliefLayout Fit(BeliefPoints truth)
    {
        ArgumentNullException.ThrowIfNull(truth);
        int s = truth.StateCount;
        if (s == 3)
        {
            return new BeliefLayout(s, null, null);
        }

        var pca = Pca.Fit(truth.Beliefs, s, truth.Weights);
        var layout = new BeliefLayout(s, pca, s > 3 ? pca : null);
        if (s > 3)
        {
            // Colour by the first three principal components, each stretched over [0, 1] on the true beliefs.
            var projected = pca.Transform(truth.Beliefs, 3);
            for (int c = 0; c < 3; c++)
            {
                layout._colourMin[c] = double.PositiveInfinity;
                layout._colourMax[c] = double.NegativeInfinity;
            }

            for (int k = 0; k < projected.Length; k++)
            {
                int c = k % 3;
                layout._colourMin[c] = Math.Min(layout._colourMin[c], projected[k]);
                layout._colourMax[c] = Math.Max(layout._colourMax[c], projected[k]);
            }
        }

        return layout;
    }

    public (double[] Xs, double[] Ys) Project(double[] beliefs)
    {
        CheckShape(beliefs);
        if (IsSimplex)
        {
            return SimplexProjection.Project(beliefs);
        }

        int n = beliefs.Length / StateCount;
        var xs = new double[n];
        var ys = new double[n];
        if (_pca!.Dimension == 1)
        {
            var p1 = _pca.Transform(beliefs, 1);
            Array.Copy(p1, xs, n);
            return (xs, ys);
        }

        var p = _pca.Transform(beliefs, 2);
        for (int k = 0; k < n; k++)
        {
            xs[k] = p[2 * k];
            ys[k] = p[(2 * k) + 1];
        }

        return (xs, ys);
    }

    /// <summary>Opaque RGB colour per belief: RGB = (b0, b1, b2) for 3 states; PCA-based for more.</summary>
    public (byte R, byte G, byte B)[] Colours(double[] beliefs)
    {
        CheckShape(beliefs);
        int s = StateCount;
        int n = beliefs.Length / s;
        var result = new (byte, byte, byte)[n];
        double[]? projected = _colourPca?.Transform(beliefs, 3);
        for (int k = 0; k < n; k++)
        {
            double r, g, b;
            if (projected is not null)
            {
                r = Stretch(projected[3 * k], 0);
                g = Stretch(projected[(3 * k) + 1], 1);
                b = Stretch(projected[(3 * k) + 2], 2);
            }
            else
            {
                r = beliefs[k * s];
                g = s > 1 ? beliefs[(k * s) + 1] : 0;
                b = s > 2 ? beliefs[(k * s) + 2] : 0;
            }

            result[k] = (ToByte(r), ToByte(g), ToByte(b));
        }

        return result;
    }

    private double Stretch(double value, int channel)
    {
        double span = _colourMax[channel] - _colourMin[channel];
        return span > 0 ? (value - _colourMin[channel]) / span : 0.5;
    }

    private static byte ToByte(double v) => (byte)Math.Round(255 * Math.Clamp(double.IsFinite(v) ? v : 0, 0, 1));

    private void CheckShape(double[] beliefs)
    {
        if (beliefs.Length % StateCount != 0)
        {
            throw new ArgumentException($"beliefs: length {beliefs.Length} is not a multiple of {StateCount} states.", nameof(beliefs));
        }
    }

    /// <summary>
    /// The box the beliefs are drawn in when nothing but the truth is shown: the triangle with a small margin for 3
    /// states, the truth's bounding box plus 6% otherwise.
    /// </summary>
    public AxisLimits TruthContent(double[] truth)
    {
        if (IsSimplex)
        {
            return new AxisLimits(-0.08, 1.08, -0.12, SimplexProjection.Height + 0.1);
        }

        var (tx, ty) = Project(truth);
        double left = tx.Min(), right = tx.Max(), bottom = ty.Min(), top = ty.Max();
        double padX = Math.Max((right - left) * 0.06, 1e-6), padY = Math.Max((top - bottom) * 0.06, 1e-6);
        return new AxisLimits(left - padX, right + padX, bottom - padY, top + padY);
    }

    /// <summary>
    /// Where a panel's vertex labels go for a given content box (the area points may occupy): for the simplex, a band
    /// of <see cref="LabelBand"/> of the content height below and above the box holds the labels, state 0 and 1 under
    /// the box's left and right ends, state 2 over its middle, each aligned to grow away from the box, so no label can
    /// touch a point or the triangle. Other layouts have no labels and the panel is the content box.
    /// </summary>
    public GeometryPanel PanelFor(AxisLimits content)
    {
        if (!IsSimplex)
        {
            return new GeometryPanel(content, []);
        }

        double band = LabelBand * (content.Top - content.Bottom);
        var panel = new AxisLimits(content.Left, content.Right, content.Bottom - band, content.Top + band);
        SimplexLabel[] labels =
        [
            new(0, "state 0", content.Left, content.Bottom, Alignment.UpperLeft),
            new(1, "state 1", content.Right, content.Bottom, Alignment.UpperRight),
            new(2, "state 2", (content.Left + content.Right) / 2, content.Top, Alignment.LowerCenter),
        ];
        return new GeometryPanel(panel, labels);
    }

    /// <summary>Height of each label band as a fraction of the content box's height.</summary>
    public const double LabelBand = 0.16;

    /// <summary>
    /// Draws <paramref name="points"/> (placed by this layout) coloured by <paramref name="colourSource"/> (same count;
    /// normally the true beliefs) into <paramref name="plot"/>, inside <paramref name="content"/>: points outside it
    /// are left out, the simplex outline and vertex labels are added for 3 states, and the axes are set to the panel.
    /// </summary>
    public void Draw(Plot plot, double[] points, double[] colourSource, double[]? weights, AxisLimits content, float radius = 0)
    {
        ArgumentNullException.ThrowIfNull(plot);
        var (xs, ys) = Project(points);
        var rgb = Colours(colourSource);
        if (rgb.Length != xs.Length)
        {
            throw new ArgumentException($"colourSource: {rgb.Length} colours for {xs.Length} points.", nameof(colourSource));
        }

        int n = xs.Length;
        if (radius <= 0)
        {
            radius = DefaultRadius(n);
        }

        var argb = new uint[n];
        int[]? order = null;
        if (weights is not null)
        {
            // Opacity grows with the log weight: the likely beliefs are solid, the rare ones faint but present.
            double maxLog = double.NegativeInfinity, minLog = double.PositiveInfinity;
            foreach (double w in weights)
            {
                if (w > 0)
                {
                    double l = Math.Log(w);
                    maxLog = Math.Max(maxLog, l);
                    minLog = Math.Min(minLog, l);
                }
            }

            double span = Math.Max(maxLog - minLog, 1e-12);
            for (int k = 0; k < n; k++)
            {
                double t = weights[k] > 0 ? (Math.Log(weights[k]) - minLog) / span : 0;
                byte alpha = (byte)Math.Round(255 * (0.35 + (0.65 * t)));
                argb[k] = Pack(alpha, rgb[k]);
            }

            order = Enumerable.Range(0, n).OrderBy(k => weights[k]).ToArray();
        }
        else
        {
            for (int k = 0; k < n; k++)
            {
                argb[k] = Pack(n > 20_000 ? (byte)210 : (byte)255, rgb[k]);
            }
        }

        var panel = PanelFor(content);
        if (IsSimplex)
        {
            DrawSimplexOutline(plot);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual();
        }

        plot.Add.Plottable(new PointCloud(xs, ys, argb, radius, order, content));
        foreach (var label in panel.Labels)
        {
            DrawLabel(plot, label);
        }

        plot.Axes.SetLimits(panel.Limits);
    }

    /// <summary>Marker radius in pixels that keeps fine structure visible: smaller as the cloud grows.</summary>
    public static float DefaultRadius(int count) => count switch
    {
        > 100_000 => 0.9f,
        > 20_000 => 1.2f,
        > 2_000 => 1.8f,
        _ => 3f,
    };

    private static uint Pack(byte alpha, (byte R, byte G, byte B) c) =>
        ((uint)alpha << 24) | ((uint)c.R << 16) | ((uint)c.G << 8) | c.B;

    private static void DrawSimplexOutline(Plot plot)
    {
        var v = SimplexProjection.Vertices;
        for (int k = 0; k < 3; k++)
        {
            var a = v[k];
            var b = v[(k + 1) % 3];
            var line = plot.Add.Line(a.X, a.Y, b.X, b.Y);
            line.LineColor = FigureStyle.Ink.WithAlpha(0.45);
            line.LineWidth = 1.2f;
        }
    }

    private static void DrawLabel(Plot plot, SimplexLabel label)
    {
        var colours = new[] { Colors.Red, Colors.Green, Colors.Blue };
        var text = plot.Add.Text(label.Text, label.X, label.Y);
        text.LabelFontSize = FigureStyle.TickSize;
        text.LabelFontColor = colours[label.State].Darken(0.2);
        text.LabelBold = true;
        text.LabelAlignment = label.Alignment;
        // A few pixels further out, so the text keeps clear of the content box's edge.
        text.OffsetY = label.Alignment is Alignment.LowerCenter ? -LabelGapPixels : LabelGapPixels;
    }

    private const float LabelGapPixels = 4;
}

/// <summary>A vertex label anchored at (X, Y) in data units, growing away from that point as <see cref="Alignment"/> says.</summary>
public sealed record SimplexLabel(int State, string Text, double X, double Y, Alignment Alignment);

/// <summary>A geometry panel's axis limits (its content box plus any label bands) and its vertex labels.</summary>
public sealed record GeometryPanel(AxisLimits Limits, IReadOnlyList<SimplexLabel> Labels);
