using Parquet;
using Parquet.Schema;

namespace BeliefLens.Runs;

/// <summary>
/// The run's JSONL records as Parquet tables, one row per record (pandas.read_parquet, polars, DuckDB):
/// metrics.parquet from metrics.jsonl, probes.parquet from probes.jsonl (one row per checkpoint × site). Derived
/// files: rebuilt whole from the JSONL each time, so they never disagree with it.
/// </summary>
internal static class RunTables
{
    public static byte[] Metrics(IReadOnlyList<MetricsLine> lines)
    {
        var columns = new Columns<MetricsLine>(lines);
        columns.Long("step", l => l.Step);
        columns.Long("tokens", l => l.Tokens);
        columns.Double("train_loss", l => l.TrainLoss);
        columns.Double("lr", l => l.Lr);
        columns.Double("tokens_per_s", l => l.TokensPerS);
        columns.Double("val_loss_mean", l => l.ValLossMean);
        columns.Double("loss_floor_mean", l => l.LossFloor is { Count: > 0 } floor ? floor.Average() : null);
        columns.Double("val_loss_over_floor", l => l.ValLossMean is double v && l.LossFloor is { Count: > 0 } floor ? v / floor.Average() : null);
        return columns.ToParquet();
    }

    public static byte[] Probes(IReadOnlyList<ProbeLine> lines)
    {
        var rows = lines.SelectMany(l => l.Sites.Select(s => (l.Step, l.Tokens, Site: s))).ToList();
        var columns = new Columns<(long Step, long Tokens, SiteMetrics Site)>(rows);
        columns.Long("step", r => r.Step);
        columns.Long("tokens", r => r.Tokens);
        columns.String("site", r => r.Site.Site);
        columns.Long("dims", r => r.Site.Dims);
        columns.Long("rows", r => r.Site.Rows);
        columns.Double("mse_insample", r => r.Site.MseInsample);
        columns.Double("mse_heldout", r => r.Site.MseHeldout);
        columns.Double("r2_insample", r => r.Site.R2Insample);
        columns.Double("r2_heldout", r => r.Site.R2Heldout);
        columns.Double("rmse_heldout", r => r.Site.RmseHeldout);
        columns.Double("shuffle_mse", r => r.Site.ShuffleMse);
        columns.Double("untrained_mse", r => r.Site.UntrainedMse);
        columns.Double("next_token_mse", r => r.Site.NextTokenMse);
        columns.Double("belief_variance", r => r.Site.BeliefVariance);
        columns.Long("effective_rank", r => r.Site.EffectiveRank);
        return columns.ToParquet();
    }

    /// <summary>Typed columns over rows, written as one row group (nullable doubles and longs, text).</summary>
    private sealed class Columns<T>(IReadOnlyList<T> rows)
    {
        private readonly List<(DataField Field, Func<ParquetRowGroupWriter, DataField, Task> Write)> _fields = [];

        public void Double(string name, Func<T, double?> value) =>
            _fields.Add((new DataField<double?>(name), (w, f) => w.WriteAsync<double>(f, rows.Select(value).ToArray().AsMemory())));

        public void Long(string name, Func<T, long?> value) =>
            _fields.Add((new DataField<long?>(name), (w, f) => w.WriteAsync<long>(f, rows.Select(value).ToArray().AsMemory())));

        public void String(string name, Func<T, string> value) =>
            _fields.Add((new DataField<string>(name, true), (w, f) => w.WriteAsync(f, rows.Select(value).ToArray())));

        public byte[] ToParquet()
        {
            using var stream = new MemoryStream();
            WriteAsync(stream).GetAwaiter().GetResult();
            return stream.ToArray();
        }

        private async Task WriteAsync(Stream stream)
        {
            var schema = new ParquetSchema(_fields.Select(f => (Field)f.Field));
            await using (var writer = await ParquetWriter.CreateAsync(schema, stream).ConfigureAwait(false))
            {
                using var group = writer.CreateRowGroup();
                foreach (var (field, write) in _fields)
                {
                    await write(group, field).ConfigureAwait(false);
                }
            }
        }
    }
}
