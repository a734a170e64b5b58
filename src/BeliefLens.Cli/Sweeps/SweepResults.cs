using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Parquet;
using Parquet.Schema;

namespace BeliefLens.Cli.Sweeps;

/// <summary>One job's line of the results table; metrics are null while the job is not done.</summary>
public sealed record ResultRow(
    SweepJob Job,
    bool Done,
    IReadOnlyDictionary<string, JsonNode?> Axes,
    double? ValidationLoss,
    double? LossFloor,
    long? Tokens,
    double? WallSeconds,
    IReadOnlyDictionary<string, (double? Mse, double? R2)> Sites);

/// <summary>The results of a sweep: one row per manifest job, one column per axis path and per probe site.</summary>
public sealed record SweepResultsTable(IReadOnlyList<string> AxisPaths, IReadOnlyList<string> Sites, IReadOnlyList<ResultRow> Rows)
{
    /// <summary>The column names, in order.</summary>
    public IReadOnlyList<string> Columns =>
        ["id", .. AxisPaths, "validation_loss", "loss_floor", "tokens", "wall_seconds", .. Sites.SelectMany(s => new[] { $"{s}.mse_heldout", $"{s}.r2_heldout" })];
}

/// <summary><c>sweep collect</c>'s tables: <c>results.csv</c> and <c>results.parquet</c>.</summary>
public static class SweepResults
{
    public static SweepResultsTable Collect(string sweep)
    {
        var jobs = SweepManifest.Read(sweep);
        var axisPaths = SweepManifest.AxisPaths(jobs);
        var sites = new List<string>();
        var rows = new List<ResultRow>();
        foreach (var job in jobs)
        {
            var axes = axisPaths.ToDictionary(p => p, p => job.Overrides.FirstOrDefault(o => o.Path == p).Value, StringComparer.Ordinal);
            string dir = SweepFiles.JobDir(sweep, job.Id);
            if (!JobRunFiles.IsDone(dir))
            {
                rows.Add(new ResultRow(job, false, axes, null, null, null, null, new Dictionary<string, (double?, double?)>()));
                continue;
            }

            var summary = JsonNode.Parse(File.ReadAllText(JobRunFiles.Summary(dir)))!.AsObject();
            var siteMetrics = new Dictionary<string, (double?, double?)>(StringComparer.Ordinal);
            foreach (var probe in summary["probes"]?.AsArray() ?? [])
            {
                string site = probe!["site"]!.GetValue<string>();
                if (!sites.Contains(site))
                {
                    sites.Add(site);
                }

                siteMetrics[site] = (Number(probe["mse_heldout"]), Number(probe["r2_heldout"]));
            }

            rows.Add(new ResultRow(job, true, axes, Number(summary["validation_loss"]), Number(summary["loss_floor"]),
                summary["tokens"] is JsonValue t ? t.GetValue<long>() : null, Number(summary["wall_seconds"]), siteMetrics));
        }

        return new SweepResultsTable(axisPaths, sites, rows);
    }

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>() : null;

    /// <summary>Doubles in shortest round-trip form, so equal bits give equal text and the text gives back the bits.</summary>
    private static string Format(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? string.Empty;

    private static string FormatAxis(JsonNode? value) => value switch
    {
        null => string.Empty,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(),
    };

    private static string Csv(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : cell;

    public static string RenderCsv(SweepResultsTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var sb = new StringBuilder();
        sb.Append(string.Join(',', table.Columns.Select(Csv))).Append('\n');
        foreach (var row in table.Rows)
        {
            var cells = new List<string> { row.Job.Id };
            cells.AddRange(table.AxisPaths.Select(p => FormatAxis(row.Axes[p])));
            cells.Add(Format(row.ValidationLoss));
            cells.Add(Format(row.LossFloor));
            cells.Add(row.Tokens?.ToString(CultureInfo.InvariantCulture) ?? string.Empty);
            cells.Add(Format(row.WallSeconds));
            foreach (string site in table.Sites)
            {
                var (mse, r2) = row.Sites.TryGetValue(site, out var m) ? m : (null, null);
                cells.Add(Format(mse));
                cells.Add(Format(r2));
            }

            sb.Append(string.Join(',', cells.Select(Csv))).Append('\n');
        }

        return sb.ToString();
    }

    public static void WriteCsv(SweepResultsTable table, string path) => AtomicFile.WriteText(path, RenderCsv(table));

    /// <summary>One row group; an axis column is numeric when all its values are numbers, else text.</summary>
    public static void WriteParquet(SweepResultsTable table, string path)
    {
        ArgumentNullException.ThrowIfNull(table);
        AtomicFile.WriteBytes(path, stream => WriteParquetAsync(table, stream).GetAwaiter().GetResult());
    }

    private static async Task WriteParquetAsync(SweepResultsTable table, Stream stream)
    {
        var rows = table.Rows;
        var fields = new List<(DataField Field, Func<ParquetRowGroupWriter, DataField, Task> Write)>();
        void Doubles(string name, Func<ResultRow, double?> value) =>
            fields.Add((new DataField<double?>(name), (w, f) => w.WriteAsync<double>(f, rows.Select(value).ToArray().AsMemory())));
        void Strings(string name, Func<ResultRow, string?> value) =>
            fields.Add((new DataField<string>(name, true), (w, f) => w.WriteAsync(f, rows.Select(value).ToArray())));

        Strings("id", r => r.Job.Id);
        foreach (string axis in table.AxisPaths)
        {
            bool numeric = rows.All(r => r.Axes[axis] is null || (r.Axes[axis] is JsonValue v && v.GetValueKind() == JsonValueKind.Number));
            if (numeric)
            {
                Doubles(axis, r => r.Axes[axis] is JsonValue v ? v.GetValue<double>() : null);
            }
            else
            {
                Strings(axis, r => r.Axes[axis] is null ? null : FormatAxis(r.Axes[axis]));
            }
        }

        Doubles("validation_loss", r => r.ValidationLoss);
        Doubles("loss_floor", r => r.LossFloor);
        fields.Add((new DataField<long?>("tokens"), (w, f) => w.WriteAsync<long>(f, rows.Select(r => r.Tokens).ToArray().AsMemory())));
        Doubles("wall_seconds", r => r.WallSeconds);
        foreach (string site in table.Sites)
        {
            Doubles($"{site}.mse_heldout", r => r.Sites.TryGetValue(site, out var m) ? m.Mse : null);
            Doubles($"{site}.r2_heldout", r => r.Sites.TryGetValue(site, out var m) ? m.R2 : null);
        }

        var schema = new ParquetSchema(fields.Select(f => (Field)f.Field));
        await using var writer = await ParquetWriter.CreateAsync(schema, stream).ConfigureAwait(false);
        using var group = writer.CreateRowGroup();
        foreach (var (field, write) in fields)
        {
            await write(group, field).ConfigureAwait(false);
        }
    }
}
