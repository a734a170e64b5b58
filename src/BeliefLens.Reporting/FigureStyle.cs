using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>One look for every figure: fonts, sizes, palette, panel size.</summary>
public static class FigureStyle
{
    public const string FontName = "DejaVu Sans";
    public const float TitleSize = 20;
    public const float LabelSize = 16;
    public const float TickSize = 13;
    public const int PanelWidth = 640;
    public const int PanelHeight = 560;

    /// <summary>Series colours (Okabe–Ito, colour-blind safe), in the order series are added.</summary>
    public static readonly Color[] Palette =
    [
        Color.FromHex("#0072B2"), Color.FromHex("#E69F00"), Color.FromHex("#009E73"), Color.FromHex("#CC79A7"),
        Color.FromHex("#56B4E9"), Color.FromHex("#D55E00"), Color.FromHex("#F0E442"), Color.FromHex("#000000"),
    ];

    public static readonly Color Ink = Color.FromHex("#222222");
    public static readonly Color Grid = Color.FromHex("#E6E6E6");
    public static readonly Color Floor = Color.FromHex("#D55E00");

    /// <summary>Creates a plot with the house style applied.</summary>
    public static Plot NewPlot(string title, string xLabel, string yLabel)
    {
        var plot = new Plot();
        plot.Font.Set(FontName);
        plot.Title(title, TitleSize);
        plot.XLabel(xLabel, LabelSize);
        plot.YLabel(yLabel, LabelSize);
        plot.Axes.Title.Label.Bold = true;
        plot.Axes.Title.Label.ForeColor = Ink;
        foreach (var axis in plot.Axes.GetAxes())
        {
            axis.TickLabelStyle.FontSize = TickSize;
            axis.TickLabelStyle.ForeColor = Ink;
            axis.Label.ForeColor = Ink;
            axis.FrameLineStyle.Color = Ink.WithAlpha(0.6);
        }

        plot.Grid.MajorLineColor = Grid;
        plot.FigureBackground.Color = Colors.White;
        plot.DataBackground.Color = Colors.White;
        return plot;
    }

    /// <summary>A plot for geometry: equal units, no grid, no tick labels (coordinates carry no meaning).</summary>
    public static Plot NewGeometryPlot(string title, string xLabel, string yLabel)
    {
        var plot = NewPlot(title, xLabel, yLabel);
        plot.HideGrid();
        plot.Axes.SquareUnits();
        return plot;
    }

    /// <summary>Shows the axis in log10 units: data must already be log10 values.</summary>
    public static void UseLog10Ticks(IAxis axis)
    {
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = FormatPowerOfTen,
        };
    }

    public static string FormatPowerOfTen(double log10Value)
    {
        double v = Math.Pow(10, log10Value);
        return log10Value switch
        {
            >= 0 and < 4 => v.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
            < 0 and >= -3 => v.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
            _ => "1e" + Math.Round(log10Value).ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    /// <summary>MSE with enough significant digits at any scale: 0.01234 or 3.86e-04.</summary>
    public static string FormatMse(double mse) =>
        mse >= 1e-3 || mse == 0
            ? mse.ToString("0.00000", System.Globalization.CultureInfo.InvariantCulture)
            : mse.ToString("0.00e-00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Human form of a token count: 1.2k, 3.4M, 5.6B.</summary>
    public static string FormatCount(double count) => count switch
    {
        >= 1e9 => (count / 1e9).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "B",
        >= 1e6 => (count / 1e6).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (count / 1e3).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + "k",
        _ => count.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
    };
}
