namespace BeliefLens.Analysis;

/// <summary>
/// The rows of one fit with rows that share a prefix id merged: one representative row per prefix (its first row among
/// the given ones) whose weight is the sum of its rows' weights. When all rows of a prefix have the same features (a
/// causal model), Σ_r w_r ‖y_r − f(x)‖² = W_g ‖ȳ_g − f(x)‖² + (scatter of y_r around ȳ_g, independent of f), with W_g the
/// summed weight and ȳ_g the weighted mean target of the prefix, so the weighted least-squares fit on the merged rows
/// equals the fit on the original rows. Under paper weighting (1 per row) W_g is the prefix's multiplicity: all 3^10
/// Mess3 inputs give 590,490 rows but 88,572 distinct prefixes. Metrics are still scored on the original rows.
/// </summary>
public sealed class CollapsedRows
{
    private readonly int[] _sourceRows;
    private readonly double[]? _sourceWeights;
    private readonly int[] _groupOfSource; // aligned with _sourceRows: index into Rows

    internal CollapsedRows(int[] representatives, double[] weights, int[] sourceRows, double[]? sourceWeights, int[] groupOfSource)
    {
        Rows = representatives;
        Weights = weights;
        _sourceRows = sourceRows;
        _sourceWeights = sourceWeights;
        _groupOfSource = groupOfSource;
    }

    /// <summary>One dataset row per distinct prefix among the source rows, in order of first appearance.</summary>
    public int[] Rows { get; }

    /// <summary>Indexed by dataset row: the summed weight of its prefix's source rows at each representative, 0 elsewhere.</summary>
    public double[] Weights { get; }

    /// <summary>Number of rows before merging.</summary>
    public int SourceRowCount => _sourceRows.Length;

    /// <summary>
    /// Targets for the merged fit, indexed by dataset row: <paramref name="targets"/> itself when every prefix's rows
    /// carry identical targets (the belief, always), otherwise a copy whose representative rows hold the weighted mean
    /// target of their prefix (e.g. shuffled targets, which differ between rows of one prefix).
    /// </summary>
    public DenseMatrix Targets(DenseMatrix targets)
    {
        ArgumentNullException.ThrowIfNull(targets);
        int k = targets.Cols;
        double[] y = targets.Data;
        bool identical = true;
        for (int i = 0; i < _sourceRows.Length && identical; i++)
        {
            int row = _sourceRows[i], representative = Rows[_groupOfSource[i]];
            identical = y.AsSpan(row * k, k).SequenceEqual(y.AsSpan(representative * k, k));
        }

        if (identical)
        {
            return targets;
        }

        var sums = new double[Rows.Length * k];
        var totals = new double[Rows.Length];
        for (int i = 0; i < _sourceRows.Length; i++)
        {
            int row = _sourceRows[i], group = _groupOfSource[i];
            double w = _sourceWeights?[row] ?? 1.0;
            totals[group] += w;
            for (int t = 0; t < k; t++)
            {
                sums[group * k + t] += w * y[row * k + t];
            }
        }

        var merged = (double[])y.Clone();
        for (int g = 0; g < Rows.Length; g++)
        {
            if (totals[g] > 0)
            {
                for (int t = 0; t < k; t++)
                {
                    merged[Rows[g] * k + t] = sums[g * k + t] / totals[g];
                }
            }
        }

        return new DenseMatrix(merged, targets.Rows, k);
    }
}
