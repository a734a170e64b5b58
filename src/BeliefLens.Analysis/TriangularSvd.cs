using System.Numerics;
using System.Runtime.InteropServices;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// The R factor of a tall system <c>[A | Y]</c> (n design columns, k target columns) under an orthogonal Q: an n × (n+k)
/// upper-trapezoidal matrix stored column-major (column l at <c>l·n</c>), so that <c>AᵀA = RₐᵀRₐ</c> and the top n rows of
/// <c>QᵀY</c> are carried in the last k columns. Blocks of rows are reduced separately (<see cref="FromRows"/>) and
/// combined (<see cref="Merge"/>) without ever forming AᵀA, so singular values keep their relative accuracy
/// (a Gram matrix would square the condition number). Cross-validation folds reuse the per-fold factors.
/// </summary>
public sealed class TriangularFactor
{
    private TriangularFactor(double[] data, int n, int k)
    {
        (Data, N, K) = (data, n, k);
    }

    /// <summary>Column-major [(N+K) columns][N rows].</summary>
    internal double[] Data { get; }

    /// <summary>Design columns (the triangle is N × N).</summary>
    public int N { get; }

    /// <summary>Carried target columns.</summary>
    public int K { get; }

    internal Span<double> Column(int l) => Data.AsSpan(l * N, N);

    public TriangularFactor Clone() => new((double[])Data.Clone(), N, K);

    /// <summary>
    /// Householder QR of <paramref name="columns"/>, a column-major block of <paramref name="rows"/> rows and n+k
    /// columns (overwritten). Only the first n columns are reduced; the last k are transformed alongside.
    /// </summary>
    public static TriangularFactor FromRows(double[] columns, int rows, int n, int k)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (n < 1 || k < 0 || rows < 0 || (long)rows * (n + k) != columns.Length)
        {
            throw new ArgumentException($"columns: {columns.Length} values do not form {rows} rows × {n + k} columns.", nameof(columns));
        }

        int steps = Math.Min(rows, n);
        for (int j = 0; j < steps; j++)
        {
            var x = columns.AsSpan((j * rows) + j, rows - j);
            double alpha = Reflector(x, out double vtv);
            if (vtv == 0)
            {
                continue;
            }

            // x now holds v (x − alpha·e1); apply I − 2vvᵀ/vᵀv to the later columns.
            for (int l = j + 1; l < n + k; l++)
            {
                var col = columns.AsSpan((l * rows) + j, rows - j);
                double scale = 2 * TensorPrimitives.Dot<double>(x, col) / vtv;
                Axpy(-scale, x, col);
            }

            x[0] = alpha;
        }

        var data = new double[(n + k) * n];
        for (int l = 0; l < n + k; l++)
        {
            int top = Math.Min(Math.Min(l + 1, n), rows);
            columns.AsSpan(l * rows, top).CopyTo(data.AsSpan(l * n, top));
        }

        return new TriangularFactor(data, n, k);
    }

    /// <summary>
    /// Replaces this factor by the R factor of the rows of both (the QR of the stacked triangles), exploiting their
    /// shape: about (2/3)n³ flops, independent of how many rows each factor summarises.
    /// </summary>
    public void Merge(TriangularFactor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.N != N || other.K != K)
        {
            throw new ArgumentException("other: factors of different shapes.", nameof(other));
        }

        var own = Data;
        var theirs = (double[])other.Data.Clone();
        var v = new double[N + 1];
        for (int j = 0; j < N; j++)
        {
            // The column to reduce: own[j][j] followed by theirs[0..j][j] (theirs is upper triangular).
            v[0] = own[(j * N) + j];
            theirs.AsSpan(j * N, j + 1).CopyTo(v.AsSpan(1));
            var x = v.AsSpan(0, j + 2);
            double alpha = Reflector(x, out double vtv);
            if (vtv == 0)
            {
                continue;
            }

            var tail = x[1..];
            for (int l = j + 1; l < N + K; l++)
            {
                var col = theirs.AsSpan(l * N, j + 1);
                double dot = (x[0] * own[(l * N) + j]) + TensorPrimitives.Dot<double>(tail, col);
                double scale = 2 * dot / vtv;
                own[(l * N) + j] -= scale * x[0];
                Axpy(-scale, tail, col);
            }

            own[(j * N) + j] = alpha;
            theirs.AsSpan(j * N, j + 1).Clear();
        }
    }

    /// <summary>
    /// Householder QR with column pivoting of this triangle (R·P = Q₁R₁), the carried columns transformed by Q₁ᵀ: returns
    /// R₁ (column-major, a new array) and P as the original column of each pivoted column. Jacobi on R₁ᵀ converges in
    /// a few sweeps (Drmač–Veselić preconditioning).
    /// </summary>
    internal (double[] Data, int[] Permutation) PivotedQr()
    {
        int n = N, width = N + K;
        var data = (double[])Data.Clone();
        var permutation = Enumerable.Range(0, n).ToArray();
        var swap = new double[n];
        for (int j = 0; j < n; j++)
        {
            int pivot = j;
            double largest = -1;
            for (int l = j; l < n; l++)
            {
                var tail = data.AsSpan((l * n) + j, n - j);
                double norm = TensorPrimitives.Dot<double>(tail, tail);
                if (norm > largest)
                {
                    (pivot, largest) = (l, norm);
                }
            }

            if (pivot != j)
            {
                data.AsSpan(j * n, n).CopyTo(swap);
                data.AsSpan(pivot * n, n).CopyTo(data.AsSpan(j * n, n));
                swap.CopyTo(data.AsSpan(pivot * n, n));
                (permutation[j], permutation[pivot]) = (permutation[pivot], permutation[j]);
            }

            var x = data.AsSpan((j * n) + j, n - j);
            double alpha = Reflector(x, out double vtv);
            if (vtv == 0)
            {
                continue;
            }

            for (int l = j + 1; l < width; l++)
            {
                var col = data.AsSpan((l * n) + j, n - j);
                double scale = 2 * TensorPrimitives.Dot<double>(x, col) / vtv;
                Axpy(-scale, x, col);
            }

            x[0] = alpha;
            x[1..].Clear();
        }

        return (data, permutation);
    }

    // Householder reflector for x: returns alpha (the new leading entry, −sign(x0)‖x‖) and overwrites x with
    // v = x − alpha·e1; vtv = vᵀv, 0 when x is already zero.
    private static double Reflector(Span<double> x, out double vtv)
    {
        double norm = TensorPrimitives.Norm<double>(x);
        if (norm == 0)
        {
            vtv = 0;
            return 0;
        }

        double x0 = x[0];
        double alpha = x0 >= 0 ? -norm : norm;
        vtv = 2 * norm * (norm + Math.Abs(x0));
        x[0] = x0 - alpha;
        return alpha;
    }

    internal static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<double>.Count)
        {
            var va = new Vector<double>(a);
            var wx = MemoryMarshal.Cast<double, Vector<double>>(x);
            var wy = MemoryMarshal.Cast<double, Vector<double>>(y);
            for (int v = 0; v < wx.Length; v++)
            {
                wy[v] += va * wx[v];
            }

            i = wx.Length * Vector<double>.Count;
        }

        for (; i < x.Length; i++)
        {
            y[i] += a * x[i];
        }
    }
}

/// <summary>
/// The singular value decomposition of a <see cref="TriangularFactor"/>'s triangle R = U Σ Vᵀ by one-sided (Hestenes)
/// Jacobi rotations on the columns of Rᵀ, with the carried targets z rotated alongside, so that c = Uᵀz comes out
/// without forming U. The triangle is first re-factored with column pivoting (R·P = Q₁R₁) and Jacobi runs on R₁ᵀ, which
/// converges in a few sweeps (Drmač–Veselić). One-sided Jacobi keeps small singular values accurate to about ε·σ_max
/// (a Gram-matrix eigen-solver loses those below ~1e-8·σ_max). It converges or throws.
/// </summary>
public sealed class TriangularSvd
{
    private const int MaxSweeps = 60;

    private TriangularSvd(double[] singularValues, double[] vScaled, double[] projectedTargets, int n, int k, int sweeps)
    {
        (SingularValues, _vScaled, _projected, N, K, Sweeps) = (singularValues, vScaled, projectedTargets, n, k, sweeps);
    }

    /// <summary>Jacobi sweeps used (the last one found every pair orthogonal).</summary>
    public int Sweeps { get; }

    private readonly double[] _vScaled; // component j: σ_j·v_j at [j·N .. j·N+N), in descending σ order
    private readonly double[] _projected; // component j: c_j = u_jᵀz at [j·K .. j·K+K)

    /// <summary>Singular values in descending order.</summary>
    public double[] SingularValues { get; }

    public int N { get; }

    public int K { get; }

    /// <summary>The j-th right singular vector v_j (descending σ order).</summary>
    public double[] RightVector(int j)
    {
        double sigma = SingularValues[j];
        return _vScaled.AsSpan(j * N, N).ToArray().Select(value => sigma == 0 ? 0 : value / sigma).ToArray();
    }

    /// <summary>
    /// The minimum-norm least-squares solution keeping the first <paramref name="components"/> singular values:
    /// β = Σ_{j&lt;q} v_j c_jᵀ / σ_j, written column-major (target t at <c>t·N</c>) into <paramref name="beta"/>.
    /// </summary>
    public void Solve(int components, Span<double> beta)
    {
        beta[..(N * K)].Clear();
        AddComponents(0, components, beta);
    }

    /// <summary>Adds components <paramref name="from"/>..<paramref name="to"/>−1 to a solution built by <see cref="Solve"/>.</summary>
    public void AddComponents(int from, int to, Span<double> beta)
    {
        for (int j = from; j < to; j++)
        {
            double sigma = SingularValues[j];
            if (sigma == 0)
            {
                continue;
            }

            // v_j c_jᵀ / σ_j = (σ_j v_j) c_jᵀ / σ_j²
            var scaled = _vScaled.AsSpan(j * N, N);
            for (int t = 0; t < K; t++)
            {
                TriangularFactor.Axpy(_projected[(j * K) + t] / (sigma * sigma), scaled, beta.Slice(t * N, N));
            }
        }
    }

    /// <summary>
    /// Adds the predictions of components <paramref name="from"/>..<paramref name="to"/>−1 for the rows of
    /// <paramref name="design"/> (row-major, N columns) to <paramref name="predictions"/> (row-major, K columns):
    /// ŷ += (A v_j) c_jᵀ / σ_j. Cost O(rows·N) per component, so scoring every cutoff costs one pass over the components.
    /// </summary>
    public void AddComponentPredictions(int from, int to, ReadOnlySpan<double> design, Span<double> predictions)
    {
        int rows = design.Length / N;
        for (int j = from; j < to; j++)
        {
            double sigma = SingularValues[j];
            if (sigma == 0)
            {
                continue;
            }

            var scaled = _vScaled.AsSpan(j * N, N);
            var coefficient = _projected.AsSpan(j * K, K);
            double inverse = 1 / (sigma * sigma);
            for (int i = 0; i < rows; i++)
            {
                double h = TensorPrimitives.Dot<double>(design.Slice(i * N, N), scaled) * inverse;
                var target = predictions.Slice(i * K, K);
                for (int t = 0; t < K; t++)
                {
                    target[t] += h * coefficient[t];
                }
            }
        }
    }

    /// <summary>How many singular values are at least <paramref name="cutoff"/>·σ_max (the rest are zeroed).</summary>
    public int Kept(double cutoff)
    {
        double threshold = cutoff * (SingularValues.Length > 0 ? SingularValues[0] : 0);
        int q = 0;
        while (q < SingularValues.Length && SingularValues[q] > 0 && SingularValues[q] >= threshold)
        {
            q++;
        }

        return q;
    }

    public static TriangularSvd Of(TriangularFactor factor)
    {
        ArgumentNullException.ThrowIfNull(factor);
        int n = factor.N, k = factor.K, length = n + k;
        var (pivoted, permutation) = factor.PivotedQr();

        // Column j of M = [R₁ᵀ; z₁ᵀ] is row j of [R₁ | z₁]; R = Q₁R₁Pᵀ, so V = P·(right vectors of R₁) and c is unchanged.
        var m = new double[n * length];
        for (int l = 0; l < length; l++)
        {
            var col = pivoted.AsSpan(l * n, n);
            for (int j = 0; j < n; j++)
            {
                m[(j * length) + l] = col[j];
            }
        }

        Precondition(m, n, length);

        // Pairs count as orthogonal when |γ| ≤ n·ε·√(αβ): the rounding level of a length-n dot product.
        double tolerance = n * 2.220446049250313e-16;
        var norms = new double[n];
        bool converged = false;
        int sweeps = 0;
        for (; sweeps < MaxSweeps && !converged; sweeps++)
        {
            converged = true;
            for (int p = 0; p < n; p++)
            {
                norms[p] = SquaredNorm(m.AsSpan(p * length, n));
            }

            for (int p = 0; p < n - 1; p++)
            {
                var mp = m.AsSpan(p * length, length);
                for (int q = p + 1; q < n; q++)
                {
                    double alpha = norms[p], beta = norms[q];
                    if (alpha == 0 || beta == 0)
                    {
                        continue;
                    }

                    var mq = m.AsSpan(q * length, length);
                    double gamma = TensorPrimitives.Dot<double>(mp[..n], mq[..n]);
                    if (Math.Abs(gamma) <= tolerance * Math.Sqrt(alpha) * Math.Sqrt(beta))
                    {
                        continue;
                    }

                    converged = false;
                    double zeta = (beta - alpha) / (2 * gamma);
                    double t = Math.Sign(zeta) / (Math.Abs(zeta) + Math.Sqrt(1 + (zeta * zeta)));
                    if (zeta == 0)
                    {
                        t = 1;
                    }

                    double c = 1 / Math.Sqrt(1 + (t * t));
                    double s = c * t;
                    Rotate(mp, mq, c, s);
                    norms[p] = alpha - (t * gamma);
                    norms[q] = beta + (t * gamma);
                }
            }
        }

        if (!converged)
        {
            throw new InvalidOperationException($"TriangularSvd: one-sided Jacobi did not converge in {MaxSweeps} sweeps.");
        }

        var sigma = new double[n];
        for (int j = 0; j < n; j++)
        {
            sigma[j] = Math.Sqrt(SquaredNorm(m.AsSpan(j * length, n)));
        }

        var order = Enumerable.Range(0, n).OrderByDescending(j => sigma[j]).ThenBy(j => j).ToArray();
        var sorted = new double[n];
        var scaled = new double[n * n];
        var projected = new double[n * k];
        for (int rank = 0; rank < n; rank++)
        {
            int j = order[rank];
            sorted[rank] = sigma[j];
            for (int i = 0; i < n; i++)
            {
                scaled[(rank * n) + permutation[i]] = m[(j * length) + i];
            }

            m.AsSpan((j * length) + n, k).CopyTo(projected.AsSpan(rank * k, k));
        }

        return new TriangularSvd(sorted, scaled, projected, n, k, sweeps);
    }

    // Rotates the columns of [M; zᵀ] by the eigenvectors W of MᵀM (an orthogonal change that Jacobi's rotations would
    // otherwise have to build up): M·W has nearly orthogonal columns, up to the Gram matrix's rounding, so the sweeps
    // that follow only polish (and restore full accuracy to the small singular values). Cost O(n³), about one sweep.
    private static void Precondition(double[] m, int n, int length)
    {
        var gram = new double[n * n];
        Parallel.For(0, n, p =>
        {
            var mp = m.AsSpan(p * length, n);
            for (int q = 0; q <= p; q++)
            {
                double dot = TensorPrimitives.Dot<double>(mp, m.AsSpan(q * length, n));
                gram[(p * n) + q] = dot;
                gram[(q * n) + p] = dot;
            }
        });

        var eigen = SymmetricEigen.Decompose(gram, n);
        var rotated = new double[m.Length];
        for (int j = 0; j < n; j++)
        {
            // column j of M·W = Σ_p W[p][j]·M_p, with W's column j = eigenvector j
            var w = eigen.EigenVector(j);
            var target = rotated.AsSpan(j * length, length);
            for (int p = 0; p < n; p++)
            {
                if (w[p] != 0)
                {
                    TriangularFactor.Axpy(w[p], m.AsSpan(p * length, length), target);
                }
            }
        }

        rotated.CopyTo(m, 0);
    }

    private static double SquaredNorm(ReadOnlySpan<double> x) => TensorPrimitives.Dot<double>(x, x);

    // mp ← c·mp − s·mq, mq ← s·mp + c·mq (orthogonalises the pair).
    private static void Rotate(Span<double> mp, Span<double> mq, double c, double s)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && mp.Length >= Vector<double>.Count)
        {
            var vc = new Vector<double>(c);
            var vs = new Vector<double>(s);
            var wp = MemoryMarshal.Cast<double, Vector<double>>(mp);
            var wq = MemoryMarshal.Cast<double, Vector<double>>(mq);
            for (int v = 0; v < wp.Length; v++)
            {
                var a = wp[v];
                var b = wq[v];
                wp[v] = (vc * a) - (vs * b);
                wq[v] = (vs * a) + (vc * b);
            }

            i = wp.Length * Vector<double>.Count;
        }

        for (; i < mp.Length; i++)
        {
            double a = mp[i], b = mq[i];
            mp[i] = (c * a) - (s * b);
            mq[i] = (s * a) + (c * b);
        }
    }
}
