using ScottPlot;
using SkiaSharp;

namespace BeliefLens.Reporting;

/// <summary>A figure written to disk: PNG and SVG of the same drawing, plus the caption for the report.</summary>
public sealed record FigureFile(string Name, string PngPath, string SvgPath, string Caption, int Width, int Height);

/// <summary>Lays plots out on a grid and writes them as one PNG and one SVG (written atomically: temp file, then rename).</summary>
public static class FigureWriter
{
    /// <summary>
    /// Writes <paramref name="panels"/> on a grid with <paramref name="columns"/> columns to
    /// <c>{directory}/{name}.png</c> and <c>.svg</c>.
    /// </summary>
    public static FigureFile Write(
        IReadOnlyList<Plot> panels,
        int columns,
        string directory,
        string name,
        string caption,
        int panelWidth = FigureStyle.PanelWidth,
        int panelHeight = FigureStyle.PanelHeight)
    {
        ArgumentNullException.ThrowIfNull(panels);
        if (panels.Count == 0)
        {
            throw new ArgumentException("panels: need at least one plot.", nameof(panels));
        }

        columns = Math.Clamp(columns, 1, panels.Count);
        int rows = (panels.Count + columns - 1) / columns;
        int width = columns * panelWidth;
        int height = rows * panelHeight;
        Directory.CreateDirectory(directory);
        string png = Path.Combine(directory, name + ".png");
        string svg = Path.Combine(directory, name + ".svg");

        using (var surface = SKSurface.Create(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul)))
        {
            Draw(surface.Canvas, panels, columns, panelWidth, panelHeight);
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            WriteAtomically(png, stream => data.SaveTo(stream));
        }

        WriteAtomically(svg, stream =>
        {
            using var canvas = SKSvgCanvas.Create(new SKRect(0, 0, width, height), stream);
            Draw(canvas, panels, columns, panelWidth, panelHeight);
        });

        return new FigureFile(name, png, svg, caption, width, height);
    }

    /// <summary>Renders panels on a grid into a new bitmap (used for animation frames).</summary>
    public static SKBitmap RenderBitmap(IReadOnlyList<Plot> panels, int columns, int panelWidth, int panelHeight)
    {
        ArgumentNullException.ThrowIfNull(panels);
        columns = Math.Clamp(columns, 1, Math.Max(1, panels.Count));
        int rows = (panels.Count + columns - 1) / columns;
        var bitmap = new SKBitmap(new SKImageInfo(columns * panelWidth, rows * panelHeight, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        Draw(canvas, panels, columns, panelWidth, panelHeight);
        return bitmap;
    }

    private static void Draw(SKCanvas canvas, IReadOnlyList<Plot> panels, int columns, int panelWidth, int panelHeight)
    {
        canvas.Clear(SKColors.White);
        for (int k = 0; k < panels.Count; k++)
        {
            int col = k % columns;
            int row = k / columns;
            var rect = new PixelRect(col * panelWidth, (col + 1) * panelWidth, (row + 1) * panelHeight, row * panelHeight);
            // Each plot clears its background; the clip keeps that to its own panel.
            canvas.Save();
            canvas.ClipRect(new SKRect(rect.Left, rect.Top, rect.Right, rect.Bottom));
            panels[k].Render(canvas, rect);
            canvas.Restore();
        }

        canvas.Flush();
    }

    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        string temp = path + ".tmp-" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        try
        {
            using (var stream = File.Create(temp))
            {
                write(stream);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}
