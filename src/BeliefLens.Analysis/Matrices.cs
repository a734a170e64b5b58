using System.Numerics;
using System.Runtime.InteropServices;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Read-only row-major feature matrix [Rows][Cols] backed by a float or a double array, so activations
/// captured as float32 are regressed in float64 without a full-size converted copy.
/// </summary>
public sealed class FeatureMatrix
{
    private readonly float[]? _single;
    private readonly double[]? _double;

    private FeatureMatrix(float[]? single, double[]? dbl, int rows, int cols)
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

        (_single, _double, Rows, Cols) = (single, dbl, rows, cols);
    }

    public int Rows { get; }

    public int Cols { get; }

    public bool IsSinglePrecision => _single is not null;

    public static FeatureMatrix FromSingle(float[] data, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new FeatureMatrix(data, null, rows, cols);
    }

    public static FeatureMatrix FromDouble(double[] data, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(data);
        return new FeatureMatrix(null, data, rows, cols);
    }

    public double this[int row, int col] => _single is not null ? _single[(long)row * Cols + col] : _double![(long)row * Cols + col];

    /// <summary>Widens one row to float64 into <paramref name="destination"/> (length ≥ Cols).</summary>
    internal void CopyRow(int row, Span<double> destination)
    {
        int cols = Cols;
        if (_double is not null)
        {
            _double.AsSpan(row * cols, cols).CopyTo(destination);
            return;
        }

        ReadOnlySpan<float> source = _single.AsSpan(row * cols, cols);
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

    /// <summary>True when rows <paramref name="a"/> and <paramref name="b"/> hold bitwise-identical values.</summary>
    internal bool RowsIdentical(int a, int b)
    {
        int cols = Cols;
        return _single is not null
            ? MemoryMarshal.AsBytes(_single.AsSpan(a * cols, cols)).SequenceEqual(MemoryMarshal.AsBytes(_single.AsSpan(b * cols, cols)))
            : MemoryMarshal.AsBytes(_double.AsSpan(a * cols, cols)).SequenceEqual(MemoryMarshal.AsBytes(_double.AsSpan(b * cols, cols)));
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
