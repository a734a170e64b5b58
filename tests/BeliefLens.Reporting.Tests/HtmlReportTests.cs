using System.Text.RegularExpressions;
using SkiaSharp;

namespace BeliefLens.Reporting.Tests;

public partial class HtmlReportTests
{
    [GeneratedRegex("<img [^>]*src=\"data:image/(?:png|gif);base64,([A-Za-z0-9+/=]+)\"")]
    private static partial Regex DataUri();

    [Fact]
    public void Report_embeds_every_figure_as_a_decodable_data_uri_and_has_no_external_resources()
    {
        using var dir = new TempDirectory();
        var run = new SyntheticRun(depth: 5);
        var (figures, animation) = run.WriteFigures(dir.Path);
        string html = HtmlReport.Render(run.Report(figures, animation));

        var images = DataUri().Matches(html).Select(m => Convert.FromBase64String(m.Groups[1].Value)).ToList();
        Assert.Equal(figures.Count + 1, images.Count);
        // Report order: two geometry figures, the emergence grid and animation, then the rest.
        var expected = figures.Take(3).Select(f => f.PngPath).Append(animation.GifPath)
            .Concat(figures.Skip(3).Select(f => f.PngPath)).Select(File.ReadAllBytes).ToList();
        for (int k = 0; k < images.Count; k++)
        {
            Assert.Equal(expected[k], images[k]); // byte-exact round trip, in report order
            using var bitmap = SKBitmap.Decode(images[k]);
            Assert.NotNull(bitmap);
            Assert.True(bitmap.Width > 0 && bitmap.Height > 0);
        }

        foreach (var figure in figures)
        {
            Assert.Contains(System.Net.WebUtility.HtmlEncode(figure.Caption), html, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("http://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https://", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.Contains("0.000386", html, StringComparison.Ordinal);
        Assert.Contains("<th>process.alpha</th>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;synthetic test run&gt;", html, StringComparison.Ordinal); // text is escaped
    }

    [Fact]
    public void Missing_figure_file_is_reported_by_path()
    {
        var model = new ReportModel("t", "s", "{}", [new ReportSection("h", [new ReportFigure("/nonexistent/fig.png", "c")])], []);
        var ex = Assert.Throws<IOException>(() => HtmlReport.Render(model));
        Assert.Contains("/nonexistent/fig.png", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Section_table_renders_caption_headers_and_escaped_cells_with_numbers_aligned()
    {
        var table = new ReportTable("Probe <errors>", ["site", "MSE"], [["blocks.3.hook_resid_post", "0.00104"], ["a<b", "n/a"]]);
        string html = HtmlReport.Render(new ReportModel("t", "s", "{}", [new ReportSection("h", [], Table: table)], []));
        Assert.Contains("<caption>Probe &lt;errors&gt;</caption>", html, StringComparison.Ordinal);
        Assert.Contains("<th>site</th><th>MSE</th>", html, StringComparison.Ordinal);
        Assert.Contains("<td>blocks.3.hook_resid_post</td><td class=\"num\">0.00104</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>a&lt;b</td><td>n/a</td>", html, StringComparison.Ordinal);
    }
}
