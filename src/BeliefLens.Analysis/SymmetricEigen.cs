using System.Numerics;
using System.Runtime.InteropServices;

namespace BeliefLens.Analysis;

/// <summary>
/// Eigendecomposition A = V·diag(λ)·Vᵀ of a real symmetric matrix in float64:
/// Householder reduction to tridiagonal form, then implicit QL iterations with Wilkinson shifts.
/// Eigenvectors are kept as rows so every rotation and reflection updates contiguous memory (SIMD-friendly).
/// </summary>
public sealed class SymmetricEigen
{
    private SymmetricEigen(double[] values, double[] vectorRows, int n)
    {
        (Values, VectorRows, Size) = (values, vectorRows, n);
    }

    public int Size { get; }

    /// <summary>Eigenvalues, sorted in descending order.</summary>
    public double[] Values { get; }

    /// <summary>Unit eigenvectors as rows [Size][Size]: row i belongs to Values[i].</summary>
    public double[] VectorRows { get; }

    public ReadOnlySpan<double> EigenVector(int index) => VectorRows.AsSpan(index * Size, Size);

    /// <summary>Decomposes the symmetric n×n row-major matrix (only symmetry of the input is assumed, it is not modified).</summary>
    public static SymmetricEigen Decompose(double[] matrix, int n)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (n <= 0 || matrix.Length != n * n)
        {
            throw new ArgumentException($"matrix: need {n}×{n} values.", nameof(matrix));
        }

        foreach (double value in matrix)
        {
            if (!double.IsFinite(value))
            {
                throw new ArgumentException("matrix: contains NaN or infinity.", nameof(matrix));
            }
        }

        var a = (double[])matrix.Clone();
        var diagonal = new double[n];
        var offDiagonal = new double[n];
        var q = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            q[i * n + i] = 1;
        }

        Tridiagonalize(a, n, diagonal, offDiagonal, q);
        QlImplicit(diagonal, offDiagonal, q, n);

        // Sort descending with the vectors.
        var order = Enumerable.Range(0, n).OrderByDescending(i => diagonal[i]).ThenBy(i => i).ToArray();
        var values = new double[n];
        var rows = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            values[i] = diagonal[order[i]];
            Array.Copy(q, order[i] * n, rows, i * n, n);
        }

        return new SymmetricEigen(values, rows, n);
    }

    /// <summary>
    /// Reduces A to T = QᵀAQ with T tridiagonal. Step k reflects rows/columns k+1.. with H = I − βvvᵀ,
    /// chosen so column k below the subdiagonal becomes zero. qRows holds Qᵀ (rows are Q's columns).
    /// </summary>
    private static void Tridiagonalize(double[] a, int n, double[] diagonal, double[] offDiagonal, double[] qRows)
    {
        var v = new double[n];
        var p = new double[n];
        var w = new double[n];
        for (int k = 0; k < n - 2; k++)
        {
            int m = n - k - 1; // length of the sub-column below the diagonal
            double norm2 = 0;
            for (int i = 0; i < m; i++)
            {
                double x = a[(k + 1 + i) * n + k];
                v[i] = x;
                norm2 += x * x;
            }

            double tailNorm2 = norm2 - v[0] * v[0];
            if (tailNorm2 == 0)
            {
                continue; // already zero below the subdiagonal
            }

            double norm = Math.Sqrt(norm2);
            double alpha = v[0] > 0 ? -norm : norm; // sign avoids cancellation in v0 − alpha
            v[0] -= alpha;
            double vtv = v[0] * v[0] + tailNorm2;
            double beta = 2.0 / vtv;

            // p = β·S·v over the trailing block S = a[k+1.., k+1..]
            for (int i = 0; i < m; i++)
            {
                p[i] = beta * Dot(a.AsSpan((k + 1 + i) * n + k + 1, m), v.AsSpan(0, m));
            }

            double kappa = 0.5 * beta * Dot(v.AsSpan(0, m), p.AsSpan(0, m));
            for (int i = 0; i < m; i++)
            {
                p[i] -= kappa * v[i]; // q = p − κv
            }

            // S ← S − v·qᵀ − q·vᵀ
            for (int i = 0; i < m; i++)
            {
                Span<double> row = a.AsSpan((k + 1 + i) * n + k + 1, m);
                Axpy(-v[i], p.AsSpan(0, m), row);
                Axpy(-p[i], v.AsSpan(0, m), row);
            }

            a[(k + 1) * n + k] = alpha;
            a[k * n + k + 1] = alpha;
            for (int i = 1; i < m; i++)
            {
                a[(k + 1 + i) * n + k] = 0;
                a[k * n + k + 1 + i] = 0;
            }

            // Qᵀ ← H·Qᵀ on rows k+1..: w = Σ v_i·row_i, row_i −= β·v_i·w
            Array.Clear(w);
            for (int i = 0; i < m; i++)
            {
                Axpy(v[i], qRows.AsSpan((k + 1 + i) * n, n), w);
            }

            for (int i = 0; i < m; i++)
            {
                Axpy(-beta * v[i], w, qRows.AsSpan((k + 1 + i) * n, n));
            }
        }

        for (int i = 0; i < n; i++)
        {
            diagonal[i] = a[i * n + i];
            offDiagonal[i] = i + 1 < n ? a[(i + 1) * n + i] : 0;
        }
    }

    /// <summary>
    /// Implicit QL with Wilkinson shifts on the tridiagonal (diagonal, offDiagonal[i] couples i and i+1).
    /// Each Givens rotation of coordinates i, i+1 is applied to eigenvector rows i, i+1.
    /// </summary>
    private static void QlImplicit(double[] d, double[] e, double[] zRows, int n)
    {
        const int MaxIterations = 100;

        // Deflate also when |e| is negligible against the whole matrix (backward stable: perturbs T by ≤ ε‖T‖).
        // The purely local test alone never fires on clusters of (numerically) zero eigenvalues, which rank-deficient
        // Gram matrices (e.g. an embedding site of rank 10 in 128 dims) produce.
        double norm = 0;
        for (int i = 0; i < n; i++)
        {
            norm = Math.Max(norm, Math.Abs(d[i]) + Math.Abs(e[i]) + (i > 0 ? Math.Abs(e[i - 1]) : 0));
        }

        double globalTolerance = 2.220446049250313e-16 * norm;
        for (int l = 0; l < n; l++)
        {
            int iterations = 0;
            while (true)
            {
                int m = l;
                for (; m < n - 1; m++)
                {
                    double scale = Math.Abs(d[m]) + Math.Abs(d[m + 1]);
                    if (Math.Abs(e[m]) <= globalTolerance || Math.Abs(e[m]) <= 2.220446049250313e-16 * scale)
                    {
                        break;
                    }
                }

                if (m == l)
                {
                    break; // d[l] has converged
                }

                if (++iterations > MaxIterations)
                {
                    throw new ArithmeticException("Symmetric eigen-solver did not converge.");
                }

                // Shift from the eigenvalue of the leading 2×2 block closer to d[l].
                double g = (d[l + 1] - d[l]) / (2.0 * e[l]);
                double r = Hypot(g, 1.0);
                g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
                double s = 1, c = 1, p = 0;
                bool deflated = false;
                int i = m - 1;
                for (; i >= l; i--)
                {
                    double f = s * e[i];
                    double b = c * e[i];
                    r = Hypot(f, g);
                    e[i + 1] = r;
                    if (r == 0)
                    {
                        // Underflow: split the problem here and restart.
                        d[i + 1] -= p;
                        e[m] = 0;
                        deflated = true;
                        break;
                    }

                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = (d[i] - g) * s + 2.0 * c * b;
                    p = s * r;
                    d[i + 1] = g + p;
                    g = c * r - b;
                    Rotate(zRows.AsSpan(i * n, n), zRows.AsSpan((i + 1) * n, n), c, s);
                }

                if (deflated)
                {
                    continue;
                }

                d[l] -= p;
                e[l] = g;
                e[m] = 0;
            }
        }
    }

    private static double Hypot(double a, double b)
    {
        a = Math.Abs(a);
        b = Math.Abs(b);
        if (a < b)
        {
            (a, b) = (b, a);
        }

        if (a == 0)
        {
            return 0;
        }

        double ratio = b / a;
        return a * Math.Sqrt(1 + ratio * ratio);
    }

    /// <summary>(lo, hi) ← (c·lo − s·hi, s·lo + c·hi).</summary>
    private static void Rotate(Span<double> lo, Span<double> hi, double c, double s)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated && lo.Length >= Vector<double>.Count)
        {
            Span<Vector<double>> lv = MemoryMarshal.Cast<double, Vector<double>>(lo);
            Span<Vector<double>> hv = MemoryMarshal.Cast<double, Vector<double>>(hi);
            var cv = new Vector<double>(c);
            var sv = new Vector<double>(s);
            for (int v = 0; v < lv.Length; v++)
            {
                Vector<double> x = lv[v];
                Vector<double> y = hv[v];
                lv[v] = cv * x - sv * y;
                hv[v] = sv * x + cv * y;
            }

            j = lv.Length * Vector<double>.Count;
        }

        for (; j < lo.Length; j++)
        {
            double x = lo[j];
            double y = hi[j];
            lo[j] = c * x - s * y;
            hi[j] = s * x + c * y;
        }
    }

    /// <summary>x·y (SIMD, <see cref="TensorPrimitives.Dot{T}(ReadOnlySpan{T}, ReadOnlySpan{T})"/>).</summary>
    internal static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y) => TensorPrimitives.Dot(x, y[..x.Length]);

    /// <summary>y += a·x (SIMD, in place; the same unfused multiply-then-add per element as a plain loop).</summary>
    internal static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        Span<double> target = y[..x.Length];
        TensorPrimitives.MultiplyAdd(x, a, target, target);
    }
}
