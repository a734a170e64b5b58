using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Cli.Run;
using BeliefLens.Reporting;

namespace BeliefLens.Cli.Sweeps;

/// <summary>Reads the finished jobs' run directories and writes <c>SWEEP/report.html</c> and <c>SWEEP/figures/</c>.</summary>
public static class SweepComparison
{
    private static readonly (string Key, string Label, bool Log)[] Metrics =
    [
        ("excess_loss", "validation loss − floor (nats)", true),
        ("headline_mse", "held-out probe MSE", true),
        ("headline_r2", "held-out probe R²", false),
    ];

    public static IReadOnlyList<FigureFile> Write(string sweep, SweepResultsTable results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var done = results.Rows.Where(r => r.Done).ToList();
        if (done.Count == 0)
        {
            throw new Core.BeliefLensInputException($"SWEEP: no job of {sweep} is done yet, so there is nothing to compare; see 'belieflens sweep status {sweep}'.");
        }

        var axes = results.AxisPaths.Select(path =>
        {
            var values = results.Rows.Select(r => r.Axes[path]).ToList();
            bool numeric = values.All(v => v is JsonValue j && j.GetValueKind() == JsonValueKind.Number);
            return new SweepAxis(path, numeric ? null : values.Select(Text).Distinct(StringComparer.Ordinal).ToList());
        }).ToList();

        var jobs = done.Select(r => Load(sweep, r, axes)).ToList();
        string figures = SweepFiles.Figures(sweep);
        var files = new List<FigureFile>
        {
            SweepReport.MetricsAgainstAxes(jobs, axes.Count > 0 ? axes : [new SweepAxis("job", done.Select(r => r.Job.Id).ToList())], Metrics, figures),
            SweepReport.ProbeCurves(jobs, figures),
        };
        if (jobs.Any(j => j.Predicted is not null))
        {
            files.Add(SweepReport.Geometries(jobs, figures));
        }

        var headers = results.Columns.Where(c => !c.EndsWith(".r2_heldout", StringComparison.Ordinal) || c.StartsWith("concat", StringComparison.Ordinal)).ToList();
        var csvLines = SweepResults.RenderCsv(results).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var columnIndex = results.Columns.Select((c, k) => (c, k)).ToDictionary(x => x.c, x => x.k, StringComparer.Ordinal);
        var rows = csvLines.Skip(1).Select(line =>
        {
            var cells = SplitCsv(line);
            return (IReadOnlyList<string>)headers.Select(h => Shorten(cells[columnIndex[h]])).ToList();
        }).ToList();
        var table = new ReportTable("One row per job (results.csv holds every column at full precision; empty cells are jobs not yet done).", headers, rows);
        string summary = $"{done.Count} of {results.Rows.Count} jobs done. Axes: {(results.AxisPaths.Count == 0 ? "none" : string.Join(", ", results.AxisPaths))}. Each job is a full `belieflens run` in jobs/ID/ with its own report.html.";
        string manifest = string.Join('\n', results.Rows.Select(r => $"{r.Job.Index,4}  {r.Job.Id}  {r.Job.Describe()}"));
        SweepReport.Write($"Sweep {Path.GetFileName(Path.GetFullPath(sweep).TrimEnd('/'))}", summary, manifest, files, table, SweepFiles.Report(sweep));
        return files;
    }

    private static SweepJobFigureData Load(string sweep, ResultRow row, IReadOnlyList<SweepAxis> axes)
    {
        string dir = SweepFiles.JobDir(sweep, row.Job.Id);
        var positions = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var axis in axes)
        {
            var value = row.Axes[axis.Path];
            positions[axis.Path] = axis.Categories is null ? ((JsonValue)value!).GetValue<double>() : axis.Categories.ToList().IndexOf(Text(value));
        }

        if (axes.Count == 0)
        {
            positions["job"] = row.Job.Index;
        }

        // Headline site: the deepest single site probed at every checkpoint (the run's emergence site), so the
        // curve, the geometry and the metrics all describe one site; else the deepest single site.
        var probeLines = RunPipeline.ReadProbeLines(dir);
        var everyCheckpoint = probeLines.Select(l => (l["sites"]?.AsArray() ?? []).Select(s => s?["site"]?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal))
            .Aggregate((HashSet<string>?)null, (acc, set) => acc is null ? set : [.. acc.Intersect(set, StringComparer.Ordinal)]);
        string site = row.Sites.Keys.LastOrDefault(s => s != "concat" && (everyCheckpoint?.Contains(s) ?? true))
            ?? row.Sites.Keys.LastOrDefault(s => s != "concat") ?? row.Sites.Keys.FirstOrDefault() ?? string.Empty;
        var metrics = new Dictionary<string, double>(StringComparer.Ordinal);
        if (row.ValidationLoss is double loss && row.LossFloor is double floor)
        {
            metrics["excess_loss"] = loss - floor;
        }

        if (row.Sites.TryGetValue(site, out var m))
        {
            if (m.Mse is double mse)
            {
                metrics["headline_mse"] = mse;
            }

            if (m.R2 is double r2)
            {
                metrics["headline_r2"] = r2;
            }
        }

        var tokens = new List<long>();
        var curve = new List<double>();
        foreach (var line in probeLines)
        {
            var entry = line["sites"]?.AsArray().FirstOrDefault(s => s?["site"]?.GetValue<string>() == site);
            if (entry?["mse_heldout"] is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
            {
                tokens.Add(line["tokens"]!.GetValue<long>());
                curve.Add(v.GetValue<double>());
            }
        }

        BeliefPoints? truth = null;
        double[]? predicted = null;
        if (File.Exists(JobRunFiles.TrueBeliefs(dir)) && File.Exists(JobRunFiles.Predicted(dir, site)))
        {
            var truthArray = NpyFile.Read(JobRunFiles.TrueBeliefs(dir));
            double[]? weights = File.Exists(JobRunFiles.PrefixProbability(dir)) ? NpyFile.Read(JobRunFiles.PrefixProbability(dir)).Data : null;
            truth = new BeliefPoints(truthArray.Data, truthArray.Shape[1], weights);
            predicted = NpyFile.Read(JobRunFiles.Predicted(dir, site)).Data;
        }

        string label = row.Job.Overrides.Count == 0 ? row.Job.Id : string.Join(", ", row.Job.Overrides.Select(o => $"{ShortPath(o.Path)}={Text(o.Value)}"));
        return new SweepJobFigureData(row.Job.Id, label, positions, metrics, site, [.. tokens], [.. curve], truth, predicted);
    }

    /// <summary>"process_params.x" → "x", "training.seed" → "seed": panel titles stay short.</summary>
    private static string ShortPath(string path) => path[(path.LastIndexOf('.') + 1)..];

    private static string Text(JsonNode? value) => value switch
    {
        null => "null",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(),
    };

    private static string Shorten(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && cell.Length > 10 ? SweepReport.Number(v) : cell;

    private static List<string> SplitCsv(string line)
    {
        var cells = new List<string>();
        var current = new System.Text.StringBuilder();
        bool quoted = false;
        for (int k = 0; k < line.Length; k++)
        {
            char c = line[k];
            if (quoted)
            {
                if (c == '"' && k + 1 < line.Length && line[k + 1] == '"')
                {
                    current.Append('"');
                    k++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                cells.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        cells.Add(current.ToString());
        return cells;
    }
}
