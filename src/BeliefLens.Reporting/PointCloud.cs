using ScottPlot;
using SkiaSharp;

namespace BeliefLens.Reporting;

/// <summary>
/// Many small points, each with its own colour, drawn without marker edges.
/// The points are rasterised into one offscreen layer so that SVG output stays small (one embedded image)
/// while axes and text remain vector.
/// </summary>
public sealed class PointCloud : IPlottable
{
    private readonly double[] _xs;
    private readonly double[] _ys;
    private readonly uint[] _argb;
    private readonly int[] _order;
    private readonly AxisLimits? _clip;

    /// <param name="xs">X coordinates.</param>
    /// <param name="ys">Y coordinates.</param>
    /// <param name="argb">Per-point colour as 0xAARRGGBB.</param>
    /// <param name="radius">Marker radius in pixels.</param>
    /// <param name="drawOrder">Optional order of drawing (later points on top).</param>
    /// <param name="clip">Optional box in data units; points outside it are not drawn (it keeps labels beside it clear).</param>
    public PointCloud(double[] xs, double[] ys, uint[] argb, float radius, int[]? drawOrder = null, AxisLimits? clip = null)
    {
        if (xs.Length != ys.Length || xs.Length != argb.Length)
        {
            throw new ArgumentException($"points: {xs.Length} xs, {ys.Length} ys and {argb.Length} colours must match.");
        }

        _xs = xs;
        _ys = ys;
        _argb = argb;
        _order = drawOrder ?? Enumerable.Range(0, xs.Length).ToArray();
        Radius = radius;
        _clip = clip;
    }

    public float Radius { get; }

    public bool IsVisible { get; set; } = true;

    public IAxes Axes { get; set; } = new ScottPlot.Axes();

    public IEnumerable<LegendItem> LegendItems => [];

    public int Count => _xs.Length;

    public AxisLimits GetAxisLimits()
    {
        double left = double.PositiveInfinity, right = double.NegativeInfinity, bottom = double.PositiveInfinity, top = double.NegativeInfinity;
        for (int k = 0; k < _xs.Length; k++)
        {
            double x = _xs[k], y = _ys[k];
            if (!double.IsFinite(x) || !double.IsFinite(y))
            {
                continue;
            }

            left = Math.Min(left, x);
            right = Math.Max(right, x);
            bottom = Math.Min(bottom, y);
            top = Math.Max(top, y);
        }

        return double.IsFinite(left) ? new AxisLimits(left, right, bottom, top) : AxisLimits.NoLimits;
    }

    public void Render(RenderPack rp)
    {
        var rect = rp.DataRect;
        int width = Math.Max(1, (int)Math.Ceiling(rect.Width));
        int height = Math.Max(1, (int)Math.Ceiling(rect.Height));
        using var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.Transparent);
        using var paint = new SKPaint { IsAntialias = true, Style = SKPaintStyle.Fill };
        foreach (int k in _order)
        {
            double x = _xs[k], y = _ys[k];
            if (!double.IsFinite(x) || !double.IsFinite(y) || (_clip is { } c && (x < c.Left || x > c.Right || y < c.Bottom || y > c.Top)))
            {
                continue;
            }

            float px = Axes.GetPixelX(x) - rect.Left;
            float py = Axes.GetPixelY(y) - rect.Top;
            if (px < -Radius || py < -Radius || px > width + Radius || py > height + Radius)
            {
                continue;
            }

            paint.Color = new SKColor(_argb[k]);
            canvas.DrawCircle(px, py, Radius, paint);
        }

        using var image = surface.Snapshot();
        rp.Canvas.DrawImage(image, rect.Left, rect.Top);
    }
}
