using System.Numerics;

namespace BeliefLens.Core;

/// <summary>
/// Eigenvalues of a general real (nonsymmetric) matrix in float64: Householder reduction to upper Hessenberg form, then
/// the Francis double-shift QR iteration (the classic EISPACK <c>orthes</c> + <c>hqr</c> scheme, with the exceptional
/// shifts at 10 and 30 iterations). Complex eigenvalues come in conjugate pairs. It converges or throws, never stops
/// silently. Also the complex null spaces that turn an eigenvalue into its eigenvectors.
/// </summary>
public static class GeneralEigen
{
    /// <summary>QR sweeps allowed per eigenvalue before giving up.</summary>
    private const int MaxIterationsPerEigenvalue = 60;

    /// <summary>The eigenvalues of the row-major n×n <paramref name="matrix"/>, with multiplicity, in the order deflated.</summary>
    public static Complex[] Eigenvalues(double[] matrix, int n)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        if (n < 1 || matrix.Length != n * n)
        {
            throw new ArgumentException($"matrix: {matrix.Length} entries is not {n}×{n}.", nameof(matrix));
        }

        if (matrix.Any(v => !double.IsFinite(v)))
        {
            throw new ArgumentException("matrix: has a non-finite entry.", nameof(matrix));
        }

        var h = new double[n][];
        for (int i = 0; i < n; i++)
        {
            h[i] = matrix.AsSpan(i * n, n).ToArray();
        }

        ReduceToHessenberg(h, n);
        return HessenbergQr(h, n);
    }

    /// <summary>Orthogonal similarity to upper Hessenberg form by Householder reflections (EISPACK orthes).</summary>
    private static void ReduceToHessenberg(double[][] h, int n)
    {
        var ort = new double[n];
        for (int m = 1; m <= n - 2; m++)
        {
            double scale = 0;
            for (int i = m; i < n; i++)
            {
                scale += Math.Abs(h[i][m - 1]);
            }

            if (scale == 0)
            {
                continue;
            }

            double norm2 = 0;
            for (int i = n - 1; i >= m; i--)
            {
                ort[i] = h[i][m - 1] / scale;
                norm2 += ort[i] * ort[i];
            }

            double g = Math.Sqrt(norm2);
            if (ort[m] > 0)
            {
                g = -g;
            }

            norm2 -= ort[m] * g;
            ort[m] -= g;

            // H ← (I − u uᵀ/‖·‖) H (I − u uᵀ/‖·‖)
            for (int j = m; j < n; j++)
            {
                double f = 0;
                for (int i = n - 1; i >= m; i--)
                {
                    f += ort[i] * h[i][j];
                }

                f /= norm2;
                for (int i = m; i < n; i++)
                {
                    h[i][j] -= f * ort[i];
                }
            }

            for (int i = 0; i < n; i++)
            {
                double f = 0;
                for (int j = n - 1; j >= m; j--)
                {
                    f += ort[j] * h[i][j];
                }

                f /= norm2;
                for (int j = m; j < n; j++)
                {
                    h[i][j] -= f * ort[j];
                }
            }

            ort[m] *= scale;
            h[m][m - 1] = scale * g;
            for (int i = m + 1; i < n; i++)
            {
                h[i][m - 1] = 0; // annihilated by the reflection
            }
        }
    }

    /// <summary>Francis double-shift QR on an upper Hessenberg matrix (EISPACK hqr), deflating from the bottom.</summary>
    private static Complex[] HessenbergQr(double[][] h, int size)
    {
        var re = new double[size];
        var im = new double[size];
        double eps = Math.Pow(2, -52);
        double exshift = 0, p = 0, q = 0, r = 0, s, z = 0, w, x, y;
        double norm = 0;
        for (int i = 0; i < size; i++)
        {
            for (int j = Math.Max(i - 1, 0); j < size; j++)
            {
                norm += Math.Abs(h[i][j]);
            }
        }

        int n = size - 1, iter = 0, total = 0;
        while (n >= 0)
        {
            // The lowest small subdiagonal entry splits off the active block l..n.
            int l = n;
            while (l > 0)
            {
                s = Math.Abs(h[l - 1][l - 1]) + Math.Abs(h[l][l]);
                if (s == 0)
                {
                    s = norm;
                }

                if (Math.Abs(h[l][l - 1]) < eps * s)
                {
                    break;
                }

                l--;
            }

            if (l == n)
            {
                // One real root.
                re[n] = h[n][n] + exshift;
                im[n] = 0;
                n--;
                iter = 0;
            }
            else if (l == n - 1)
            {
                // A 2×2 block: two real roots or a complex pair.
                w = h[n][n - 1] * h[n - 1][n];
                p = (h[n - 1][n - 1] - h[n][n]) / 2;
                q = (p * p) + w;
                z = Math.Sqrt(Math.Abs(q));
                x = h[n][n] + exshift;
                if (q >= 0)
                {
                    z = p >= 0 ? p + z : p - z;
                    re[n - 1] = x + z;
                    re[n] = z != 0 ? x - (w / z) : x + z;
                    im[n - 1] = 0;
                    im[n] = 0;
                }
                else
                {
                    re[n - 1] = x + p;
                    re[n] = x + p;
                    im[n - 1] = z;
                    im[n] = -z;
                }

                n -= 2;
                iter = 0;
            }
            else
            {
                x = h[n][n];
                y = h[n - 1][n - 1];
                w = h[n][n - 1] * h[n - 1][n];
                if (iter == 10)
                {
                    // Wilkinson's exceptional shift.
                    exshift += x;
                    for (int i = 0; i <= n; i++)
                    {
                        h[i][i] -= x;
                    }

                    s = Math.Abs(h[n][n - 1]) + Math.Abs(h[n - 1][n - 2]);
                    x = y = 0.75 * s;
                    w = -0.4375 * s * s;
                }

                if (iter == 30)
                {
                    // A second exceptional shift.
                    s = (y - x) / 2;
                    s = (s * s) + w;
                    if (s > 0)
                    {
                        s = Math.Sqrt(s);
                        if (y < x)
                        {
                            s = -s;
                        }

                        s = x - (w / (((y - x) / 2) + s));
                        for (int i = 0; i <= n; i++)
                        {
                            h[i][i] -= s;
                        }

                        exshift += s;
                        x = y = w = 0.964;
                    }
                }

                iter++;
                if (++total > MaxIterationsPerEigenvalue * size)
                {
                    throw new InvalidOperationException($"GeneralEigen: the QR iteration did not converge after {total} sweeps on a {size}×{size} matrix.");
                }

                // Two consecutive small subdiagonal entries: start the double step at m.
                int m = n - 2;
                while (m >= l)
                {
                    z = h[m][m];
                    r = x - z;
                    s = y - z;
                    p = (((r * s) - w) / h[m + 1][m]) + h[m][m + 1];
                    q = h[m + 1][m + 1] - z - r - s;
                    r = h[m + 2][m + 1];
                    s = Math.Abs(p) + Math.Abs(q) + Math.Abs(r);
                    p /= s;
                    q /= s;
                    r /= s;
                    if (m == l)
                    {
                        break;
                    }

                    if (Math.Abs(h[m][m - 1]) * (Math.Abs(q) + Math.Abs(r)) <
                        eps * (Math.Abs(p) * (Math.Abs(h[m - 1][m - 1]) + Math.Abs(z) + Math.Abs(h[m + 1][m + 1]))))
                    {
                        break;
                    }

                    m--;
                }

                for (int i = m + 2; i <= n; i++)
                {
                    h[i][i - 2] = 0;
                    if (i > m + 2)
                    {
                        h[i][i - 3] = 0;
                    }
                }

                // The double QR step on rows l..n and columns m..n.
                for (int k = m; k <= n - 1; k++)
                {
                    bool notLast = k != n - 1;
                    if (k != m)
                    {
                        p = h[k][k - 1];
                        q = h[k + 1][k - 1];
                        r = notLast ? h[k + 2][k - 1] : 0;
                        x = Math.Abs(p) + Math.Abs(q) + Math.Abs(r);
                        if (x == 0)
                        {
                            continue; // the column is already reduced
                        }

                        p /= x;
                        q /= x;
                        r /= x;
                    }

                    s = Math.Sqrt((p * p) + (q * q) + (r * r));
                    if (p < 0)
                    {
                        s = -s;
                    }

                    if (s == 0)
                    {
                        continue;
                    }

                    if (k != m)
                    {
                        h[k][k - 1] = -s * x;
                    }
                    else if (l != m)
                    {
                        h[k][k - 1] = -h[k][k - 1];
                    }

                    p += s;
                    x = p / s;
                    y = q / s;
                    z = r / s;
                    q /= p;
                    r /= p;
                    for (int j = k; j < size; j++)
                    {
                        p = h[k][j] + (q * h[k + 1][j]);
                        if (notLast)
                        {
                            p += r * h[k + 2][j];
                            h[k + 2][j] -= p * z;
                        }

                        h[k][j] -= p * x;
                        h[k + 1][j] -= p * y;
                    }

                    for (int i = 0; i <= Math.Min(n, k + 3); i++)
                    {
                        p = (x * h[i][k]) + (y * h[i][k + 1]);
                        if (notLast)
                        {
                            p += z * h[i][k + 2];
                            h[i][k + 2] -= p * r;
                        }

                        h[i][k] -= p;
                        h[i][k + 1] -= p * q;
                    }
                }
            }
        }

        var values = new Complex[size];
        for (int i = 0; i < size; i++)
        {
            values[i] = new Complex(re[i], im[i]);
        }

        return values;
    }

    /// <summary>
    /// An orthonormal-free basis of the null space of the complex n×n <paramref name="matrix"/> (row-major), by
    /// Gauss–Jordan elimination with complete pivoting: a pivot below <paramref name="relativeTolerance"/> × the largest
    /// entry counts as zero. Each basis vector has unit 2-norm.
    /// </summary>
    public static Complex[][] NullSpace(Complex[] matrix, int n, double relativeTolerance = 1e-9)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        var a = (Complex[])matrix.Clone();
        var column = Enumerable.Range(0, n).ToArray(); // column permutation: position → original column
        double scale = a.Select(Complex.Abs).DefaultIfEmpty(0).Max();
        double tolerance = relativeTolerance * Math.Max(scale, double.Epsilon);
        int rank = 0;
        for (; rank < n; rank++)
        {
            int pivotRow = -1, pivotCol = -1;
            double best = 0;
            for (int i = rank; i < n; i++)
            {
                for (int j = rank; j < n; j++)
                {
                    double magnitude = Complex.Abs(a[(i * n) + j]);
                    if (magnitude > best)
                    {
                        (best, pivotRow, pivotCol) = (magnitude, i, j);
                    }
                }
            }

            if (best <= tolerance)
            {
                break;
            }

            SwapRows(a, n, rank, pivotRow);
            SwapColumns(a, n, rank, pivotCol);
            (column[rank], column[pivotCol]) = (column[pivotCol], column[rank]);
            var pivot = a[(rank * n) + rank];
            for (int j = 0; j < n; j++)
            {
                a[(rank * n) + j] /= pivot;
            }

            for (int i = 0; i < n; i++)
            {
                var factor = a[(i * n) + rank];
                if (i == rank || factor == Complex.Zero)
                {
                    continue;
                }

                for (int j = 0; j < n; j++)
                {
                    a[(i * n) + j] -= factor * a[(rank * n) + j];
                }
            }
        }

        // Reduced form [I B; 0 0] in permuted columns: each free column f gives x_f = 1, x_pivot(i) = −B[i, f].
        var basis = new Complex[n - rank][];
        for (int f = rank; f < n; f++)
        {
            var vector = new Complex[n];
            vector[column[f]] = Complex.One;
            for (int i = 0; i < rank; i++)
            {
                vector[column[i]] = -a[(i * n) + f];
            }

            double length = Math.Sqrt(vector.Sum(v => (v.Real * v.Real) + (v.Imaginary * v.Imaginary)));
            basis[f - rank] = vector.Select(v => v / length).ToArray();
        }

        return basis;
    }

    /// <summary>Solves the complex n×n system <c>A y = b</c> by Gaussian elimination with partial pivoting; null when A is singular to working precision.</summary>
    public static Complex[]? Solve(Complex[] matrix, Complex[] rhs, int n)
    {
        var a = (Complex[])matrix.Clone();
        var b = (Complex[])rhs.Clone();
        double scale = a.Select(Complex.Abs).DefaultIfEmpty(0).Max();
        for (int k = 0; k < n; k++)
        {
            int pivot = k;
            for (int i = k + 1; i < n; i++)
            {
                if (Complex.Abs(a[(i * n) + k]) > Complex.Abs(a[(pivot * n) + k]))
                {
                    pivot = i;
                }
            }

            if (Complex.Abs(a[(pivot * n) + k]) <= 1e-13 * scale)
            {
                return null;
            }

            SwapRows(a, n, k, pivot);
            (b[k], b[pivot]) = (b[pivot], b[k]);
            for (int i = k + 1; i < n; i++)
            {
                var factor = a[(i * n) + k] / a[(k * n) + k];
                for (int j = k; j < n; j++)
                {
                    a[(i * n) + j] -= factor * a[(k * n) + j];
                }

                b[i] -= factor * b[k];
            }
        }

        var y = new Complex[n];
        for (int i = n - 1; i >= 0; i--)
        {
            var sum = b[i];
            for (int j = i + 1; j < n; j++)
            {
                sum -= a[(i * n) + j] * y[j];
            }

            y[i] = sum / a[(i * n) + i];
        }

        return y;
    }

    private static void SwapRows(Complex[] a, int n, int r1, int r2)
    {
        if (r1 == r2)
        {
            return;
        }

        for (int j = 0; j < n; j++)
        {
            (a[(r1 * n) + j], a[(r2 * n) + j]) = (a[(r2 * n) + j], a[(r1 * n) + j]);
        }
    }

    private static void SwapColumns(Complex[] a, int n, int c1, int c2)
    {
        if (c1 == c2)
        {
            return;
        }

        for (int i = 0; i < n; i++)
        {
            (a[(i * n) + c1], a[(i * n) + c2]) = (a[(i * n) + c2], a[(i * n) + c1]);
        }
    }
}
