using System.Numerics;
using System.Runtime.InteropServices;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Read-only row-major feature matrix [Rows][Cols] backed by float or double arrays, so activations captured as float32
/// are regressed in float64 without a full-size converted copy.
/// <para>Two views share storage instead of copying it: <see cref="Indexed"/> gives logical rows that point at stored
/// rows (a causal model's activations are stored once per distinct prefix while every (sequence, position) row stays
/// addressable), and <see cref="Concatenate"/> puts several matrices side by side (the concatenated site).</para>
/// </summary>
public sealed class FeatureMatrix
{
    private readonly Block[] _blocks;
    private readonly int[]? _rowIndex;

    /// <summary>One stored array of <see cref="Cols"/> columns; a concatenation holds several.</summary>
    private readonly record struct Block(float[]? Single, double[]? Double, int Cols);

    private FeatureMatrix(Block[] blocks, int storedRows, int[]? rowIndex)
    {
        (_blocks, StoredRows, _rowIndex) = (blocks, storedRows, rowIndex);
        Cols = blocks.Sum(b => b.Cols);
        Rows = rowIndex?.Length ?? storedRows;
    }

    private static FeatureMatrix Create(float[]? single, double[]? dbl, int rows, int cols)
    {
        int length = single?.Length ?? dbl!.Length;
        if (rows < 0 || cols <= 0)
        {
            throw new BeliefLensInputException($"features: shape [{rows}][{cols}] is invalid; need rows >= 0 and cols >= 1.");
        }

        if ((long)rows * cols != length)
        {
            throw new BeliefLensInputException(
                $"features: array has {length} values but shape [{rows}][{cols}] needs {(long)rows * cols}; pass the row-major data with its true shape.");
        }

        return new FeatureMatrix([new Block(single, dbl, cols)], rows, null);
    }

    /// <summary>Logical rows (what every fit, score and selection indexes).</summary>
    public int Rows { get; }

    public int Cols { get; }

    /// <summary>Rows actually stored: <see cref="Rows"/> unless the matrix is <see cref="Indexed"/>.</summary>
    public int StoredRows { get; }

    /// <summary>For an <see cref="Indexed"/> matrix, the stored row of each logical row; null otherwise.</summary>
    public IReadOnlyList<int>? RowIndex => _rowIndex;

    internal int[]? RowIndexArray => _rowIndex;

    /// <summary>The stored rows themselves, one logical row each (this matrix when it is not indexed).</summary>
    public FeatureMatrix Stored => _rowIndex is null ? this : new FeatureMatrix(_blocks, StoredRows, null);

    public bool IsSinglePrecision => _blocks.All(b => b.Single is not null);

    public static FeatureMatrix FromSingle(float[] data, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Create(data, null, rows, cols);
    }

    public static FeatureMatrix FromDouble(double[] data, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        return Create(null, data, rows, cols);
    }

    /// <summary>
    /// Logical row r reads stored row <paramref name="rowIndex"/>[r] of <paramref name="stored"/> (no copy). Rows that
    /// share a stored row are bitwise identical by construction.
    /// </summary>
    public static FeatureMatrix Indexed(FeatureMatrix stored, int[] rowIndex)
    {
        ArgumentNullException.ThrowIfNull(stored);
        ArgumentNullException.ThrowIfNull(rowIndex);
        if (stored._rowIndex is not null)
        {
            throw new ArgumentException("stored: already indexed; index its Stored matrix instead.", nameof(stored));
        }

        for (int r = 0; r < rowIndex.Length; r++)
        {
            if ((uint)rowIndex[r] >= (uint)stored.StoredRows)
            {
                throw new BeliefLensInputException($"row_index[{r}]: {rowIndex[r]} is outside the {stored.StoredRows} stored rows.");
            }
        }

        return new FeatureMatrix(stored._blocks, stored.StoredRows, rowIndex);
    }

    /// <summary>
    /// The columns of <paramref name="parts"/> side by side, in order, sharing their storage. The parts must have the same
    /// stored rows and the same row index (e.g. several sites of one forward pass).
    /// </summary>
    public static FeatureMatrix Concatenate(IReadOnlyList<FeatureMatrix> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0)
        {
            throw new BeliefLensInputException("concat: no sites to concatenate.");
        }

        var first = parts[0];
        foreach (var part in parts)
        {
            bool sameIndex = ReferenceEquals(part._rowIndex, first._rowIndex)
                || (part._rowIndex is not null && first._rowIndex is not null && part._rowIndex.AsSpan().SequenceEqual(first._rowIndex));
            if (part.StoredRows != first.StoredRows || part.Rows != first.Rows || !sameIndex)
            {
                throw new BeliefLensInputException("concat: sites have different row counts.");
            }
        }

        return new FeatureMatrix(parts.SelectMany(p => p._blocks).ToArray(), first.StoredRows, first._rowIndex);
    }

    public double this[int row, int col]
    {
        get
        {
            long stored = _rowIndex?[row] ?? row;
            foreach (var block in _blocks)
            {
                if (col < block.Cols)
                {
                    long at = (stored * block.Cols) + col;
                    return block.Single is not null ? block.Single[at] : block.Double![at];
                }

                col -= block.Cols;
            }

            throw new ArgumentOutOfRangeException(nameof(col));
        }
    }

    /// <summary>Widens one logical row to float64 into <paramref name="destination"/> (length ≥ Cols).</summary>
    internal void CopyRow(int row, Span<double> destination)
    {
        int stored = _rowIndex?[row] ?? row;
        int offset = 0;
        foreach (var block in _blocks)
        {
            CopyBlockRow(block, stored, destination.Slice(offset, block.Cols));
            offset += block.Cols;
        }
    }

    private static void CopyBlockRow(Block block, int stored, Span<double> destination)
    {
        int cols = block.Cols;
        if (block.Double is not null)
        {
            block.Double.AsSpan(stored * cols, cols).CopyTo(destination);
            return;
        }

        ReadOnlySpan<float> source = block.Single.AsSpan(stored * cols, cols);
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            int width = Vector<float>.Count;
            ReadOnlySpan<Vector<float>> wide = MemoryMarshal.Cast<float, Vector<float>>(source);
            Span<Vector<double>> target = MemoryMarshal.Cast<double, Vector<double>>(destination);
            for (int v = 0; v < wide.Length; v++)
            {
                Vector.Widen(wide[v], out target[2 * v], out target[2 * v + 1]);
            }

            j = wide.Length * width;
        }

        for (; j < cols; j++)
        {
            destination[j] = source[j];
        }
    }

    /// <summary>True when logical rows <paramref name="a"/> and <paramref name="b"/> hold bitwise-identical values.</summary>
    internal bool RowsIdentical(int a, int b)
    {
        int sa = _rowIndex?[a] ?? a, sb = _rowIndex?[b] ?? b;
        if (sa == sb)
        {
            return true;
        }

        foreach (var block in _blocks)
        {
            int cols = block.Cols;
            bool same = block.Single is not null
                ? MemoryMarshal.AsBytes(block.Single.AsSpan(sa * cols, cols)).SequenceEqual(MemoryMarshal.AsBytes(block.Single.AsSpan(sb * cols, cols)))
                : MemoryMarshal.AsBytes(block.Double.AsSpan(sa * cols, cols)).SequenceEqual(MemoryMarshal.AsBytes(block.Double.AsSpan(sb * cols, cols)));
            if (!same)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Rows selected by <paramref name="rows"/>, copied as a new float64 matrix.</summary>
    public FeatureMatrix SelectRows(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var data = new double[(long)rows.Count * Cols];
        for (int i = 0; i < rows.Count; i++)
        {
            CopyRow(rows[i], data.AsSpan(i * Cols, Cols));
        }

        return FromDouble(data, rows.Count, Cols);
    }
}

/// <summary>Row-major float64 matrix [Rows][Cols]; used for targets and predictions.</summary>
public sealed class DenseMatrix
{
    public DenseMatrix(double[] data, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (rows < 0 || cols <= 0 || (long)rows * cols != data.Length)
        {
            throw new BeliefLensInputException(
                $"targets: array has {data.Length} values but shape [{rows}][{cols}] needs {(long)rows * cols}; pass the row-major data with its true shape.");
        }

        (Data, Rows, Cols) = (data, rows, cols);
    }

    public double[] Data { get; }

    public int Rows { get; }

    public int Cols { get; }

    public double this[int row, int col] => Data[row * Cols + col];

    public ReadOnlySpan<double> Row(int row) => Data.AsSpan(row * Cols, Cols);

    public static DenseMatrix FromRows(IReadOnlyList<double[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            throw new BeliefLensInputException("targets: need at least one row.");
        }

        int cols = rows[0].Length;
        var data = new double[rows.Count * cols];
        for (int i = 0; i < rows.Count; i++)
        {
            if (rows[i].Length != cols)
            {
                throw new BeliefLensInputException($"targets[{i}]: has {rows[i].Length} values, expected {cols} like row 0.");
            }

            rows[i].CopyTo(data, i * cols);
        }

        return new DenseMatrix(data, rows.Count, cols);
    }

    public DenseMatrix SelectRows(IReadOnlyList<int> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var data = new double[rows.Count * Cols];
        for (int i = 0; i < rows.Count; i++)
        {
            Row(rows[i]).CopyTo(data.AsSpan(i * Cols, Cols));
        }

        return new DenseMatrix(data, rows.Count, Cols);
    }
}
