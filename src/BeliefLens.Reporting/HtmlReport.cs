using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BeliefLens.Reporting;

/// <summary>One row of the metrics table: our value beside the paper's published value where one applies.</summary>
public sealed record MetricRow(string Metric, string Ours, string? Paper = null, string? Note = null);

/// <summary>A figure in the report: an image file (PNG) and its caption.</summary>
public sealed record ReportFigure(string ImagePath, string Caption, string? Title = null)
{
    public static ReportFigure From(FigureFile figure, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(figure);
        return new ReportFigure(figure.PngPath, figure.Caption, title);
    }

    public static ReportFigure From(AnimationFile animation, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(animation);
        return new ReportFigure(animation.GifPath, animation.Caption, title);
    }
}

/// <summary>A plain table of text cells; numbers are right-aligned when a cell parses as one.</summary>
public sealed record ReportTable(string Caption, IReadOnlyList<string> Headers, IReadOnlyList<IReadOnlyList<string>> Rows);

/// <summary>A headed part of the report: an optional paragraph and table, then figures.</summary>
public sealed record ReportSection(string Heading, IReadOnlyList<ReportFigure> Figures, string? Text = null, ReportTable? Table = null);

/// <summary>Everything the report shows. <paramref name="ConfigJson"/> is the run's resolved config.json text.</summary>
public sealed record ReportModel(
    string Title,
    string Summary,
    string ConfigJson,
    IReadOnlyList<ReportSection> Sections,
    IReadOnlyList<MetricRow> Metrics,
    string? Footer = null);

/// <summary>Builds one self-contained HTML page: images as base64 data URIs, inline CSS, no script, no external resources.</summary>
public static class HtmlReport
{
    public static string Render(ReportModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<title>").Append(E(model.Title)).Append("</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");
        sb.Append("<h1>").Append(E(model.Title)).Append("</h1>\n");
        sb.Append("<section class=\"summary\"><h2>Summary</h2><p>").Append(E(model.Summary)).Append("</p></section>\n");

        if (model.Metrics.Count > 0)
        {
            sb.Append("<section><h2>Metrics</h2>\n<table class=\"metrics\"><thead><tr><th>Metric</th><th>This run</th><th>Paper</th><th>Note</th></tr></thead><tbody>\n");
            foreach (var row in model.Metrics)
            {
                sb.Append("<tr><td>").Append(E(row.Metric)).Append("</td><td class=\"num\">").Append(E(row.Ours))
                  .Append("</td><td class=\"num\">").Append(E(row.Paper ?? "—")).Append("</td><td>").Append(E(row.Note ?? ""))
                  .Append("</td></tr>\n");
            }

            sb.Append("</tbody></table></section>\n");
        }

        int figureNumber = 0;
        foreach (var section in model.Sections)
        {
            sb.Append("<section><h2>").Append(E(section.Heading)).Append("</h2>\n");
            if (!string.IsNullOrWhiteSpace(section.Text))
            {
                sb.Append("<p>").Append(E(section.Text)).Append("</p>\n");
            }

            if (section.Table is { } table)
            {
                AppendTable(sb, table);
            }

            foreach (var figure in section.Figures)
            {
                figureNumber++;
                sb.Append("<figure>");
                AppendImage(sb, figure.ImagePath, figure.Title ?? figure.Caption);
                sb.Append("<figcaption><b>Figure ").Append(figureNumber.ToString(CultureInfo.InvariantCulture)).Append(".</b> ");
                if (figure.Title is not null)
                {
                    sb.Append("<b>").Append(E(figure.Title)).Append(".</b> ");
                }

                sb.Append(E(figure.Caption)).Append("</figcaption></figure>\n");
            }

            sb.Append("</section>\n");
        }

        sb.Append("<section><h2>Run configuration</h2>\n");
        AppendConfig(sb, model.ConfigJson);
        sb.Append("</section>\n");
        if (model.Footer is not null)
        {
            sb.Append("<footer>").Append(E(model.Footer)).Append("</footer>\n");
        }

        sb.Append("</main>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static void AppendTable(StringBuilder sb, ReportTable table)
    {
        sb.Append("<table class=\"metrics\"><caption>").Append(E(table.Caption)).Append("</caption><thead><tr>");
        foreach (string header in table.Headers)
        {
            sb.Append("<th>").Append(E(header)).Append("</th>");
        }

        sb.Append("</tr></thead><tbody>\n");
        foreach (var row in table.Rows)
        {
            sb.Append("<tr>");
            foreach (string cell in row)
            {
                bool numeric = double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
                sb.Append(numeric ? "<td class=\"num\">" : "<td>").Append(E(cell)).Append("</td>");
            }

            sb.Append("</tr>\n");
        }

        sb.Append("</tbody></table>\n");
    }

    private static void AppendImage(StringBuilder sb, string path, string alt)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"report: cannot read figure '{path}': {ex.Message}", ex);
        }

        string mime = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => "image/png",
            ".svg" => "image/svg+xml",
            ".gif" => "image/gif",
            ".jpg" or ".jpeg" => "image/jpeg",
            _ => throw new ArgumentException($"report: '{path}' is not a PNG, SVG, GIF or JPEG image."),
        };
        sb.Append("<img alt=\"").Append(E(alt)).Append("\" src=\"data:").Append(mime).Append(";base64,")
          .Append(Convert.ToBase64String(bytes)).Append("\">");
    }

    private static void AppendConfig(StringBuilder sb, string configJson)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(configJson);
        }
        catch (JsonException)
        {
            root = null;
        }

        if (root is JsonObject obj)
        {
            sb.Append("<table class=\"config\"><tbody>\n");
            foreach (var (key, value) in Flatten("", obj))
            {
                sb.Append("<tr><th>").Append(E(key)).Append("</th><td><code>").Append(E(value)).Append("</code></td></tr>\n");
            }

            sb.Append("</tbody></table>\n");
            string pretty = root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
            sb.Append("<details><summary>config.json</summary><pre>").Append(E(pretty)).Append("</pre></details>\n");
        }
        else
        {
            sb.Append("<pre>").Append(E(configJson)).Append("</pre>\n");
        }
    }

    private static IEnumerable<(string Key, string Value)> Flatten(string prefix, JsonObject obj)
    {
        foreach (var (key, value) in obj)
        {
            string name = prefix.Length == 0 ? key : prefix + "." + key;
            if (value is JsonObject child && child.Count > 0)
            {
                foreach (var item in Flatten(name, child))
                {
                    yield return item;
                }
            }
            else
            {
                yield return (name, value?.ToJsonString() ?? "null");
            }
        }
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Css = """
        :root { --ink:#1f2328; --muted:#59636e; --rule:#d1d9e0; --accent:#0072B2; --bg:#ffffff; --soft:#f6f8fa; }
        * { box-sizing: border-box; }
        body { margin:0; background:var(--bg); color:var(--ink); font: 16px/1.55 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; }
        main { max-width: 1180px; margin: 0 auto; padding: 32px 28px 64px; }
        h1 { font-size: 1.9rem; margin: 0 0 18px; border-bottom: 3px solid var(--accent); padding-bottom: 10px; }
        h2 { font-size: 1.35rem; margin: 40px 0 12px; color: var(--accent); }
        .summary p { font-size: 1.05rem; background: var(--soft); border-left: 4px solid var(--accent); padding: 14px 18px; margin: 0; }
        figure { margin: 18px 0 30px; }
        figure img { display:block; max-width:100%; height:auto; margin: 0 auto; border: 1px solid var(--rule); border-radius: 4px; }
        figcaption { color: var(--muted); font-size: 0.93rem; margin-top: 8px; max-width: 960px; margin-left:auto; margin-right:auto; }
        table { border-collapse: collapse; width: 100%; font-size: 0.95rem; }
        th, td { text-align: left; padding: 6px 12px; border-bottom: 1px solid var(--rule); vertical-align: top; }
        thead th { background: var(--soft); border-bottom: 2px solid var(--rule); }
        td.num { font-variant-numeric: tabular-nums; font-family: "DejaVu Sans Mono", monospace; white-space: nowrap; }
        table.config th { width: 32%; font-weight: normal; color: var(--muted); }
        code, pre { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 0.88rem; }
        pre { background: var(--soft); padding: 12px; overflow-x: auto; border-radius: 4px; }
        details { margin-top: 12px; }
        footer { margin-top: 48px; color: var(--muted); font-size: 0.85rem; border-top: 1px solid var(--rule); padding-top: 12px; }
        """;
}
