namespace BeliefLens.Core;

/// <summary>Small dense float64 helpers on row-major flat S×S matrices.</summary>
public static class LinearAlgebra
{
    public static double[] MinusIdentity(double[] matrix, int n)
    {
        var result = (double[])matrix.Clone();
        for (int i = 0; i < n; i++)
        {
            result[i * n + i] -= 1;
        }

        return result;
    }

    public static double[] Transpose(double[] matrix, int n)
    {
        var result = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                result[j * n + i] = matrix[i * n + j];
            }
        }

        return result;
    }

    public static double[] Multiply(double[] a, double[] b, int n)
    {
        var result = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int k = 0; k < n; k++)
            {
                double aik = a[i * n + k];
                if (aik == 0)
                {
                    continue;
                }

                for (int j = 0; j < n; j++)
                {
                    result[i * n + j] += aik * b[k * n + j];
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Spectral radius by Gelfand's formula with repeated squaring: ρ = lim ‖A^k‖^(1/k).
    /// Works for complex dominant eigenvalues, where power iteration on a vector does not converge.
    /// </summary>
    public static double SpectralRadius(double[] matrix, int n)
    {
        var b = (double[])matrix.Clone();
        double norm0 = MaxAbs(b);
        if (norm0 == 0)
        {
            return 0;
        }

        for (int k = 0; k < b.Length; k++)
        {
            b[k] /= norm0;
        }

        double logRadius = Math.Log(norm0);
        double weight = 0.5;
        for (int iteration = 0; iteration < 60; iteration++)
        {
            b = Multiply(b, b, n);
            double norm = MaxAbs(b);
            if (norm == 0)
            {
                return 0;
            }

            for (int k = 0; k < b.Length; k++)
            {
                b[k] /= norm;
            }

            logRadius += weight * Math.Log(norm);
            weight *= 0.5;
        }

        return Math.Exp(logRadius);
    }

    /// <summary>
    /// A vector spanning the null space of the n×n matrix, or null when that null space is not exactly
    /// one-dimensional. Gaussian elimination with full pivoting and a relative rank tolerance.
    /// </summary>
    public static double[]? NullVector(double[] matrix, int n, double relativeTolerance = 1e-10)
    {
        var a = (double[])matrix.Clone();
        var columnOrder = Enumerable.Range(0, n).ToArray();
        double scale = Math.Max(MaxAbs(a), 1e-300);
        int rank = 0;
        for (int step = 0; step < n; step++)
        {
            int pivotRow = -1;
            int pivotColumn = -1;
            double best = 0;
            for (int i = step; i < n; i++)
            {
                for (int j = step; j < n; j++)
                {
                    double value = Math.Abs(a[i * n + j]);
                    if (value > best)
                    {
                        best = value;
                        pivotRow = i;
                        pivotColumn = j;
                    }
                }
            }

            if (best <= relativeTolerance * scale)
            {
                break;
            }

            SwapRows(a, n, step, pivotRow);
            SwapColumns(a, n, step, pivotColumn);
            (columnOrder[step], columnOrder[pivotColumn]) = (columnOrder[pivotColumn], columnOrder[step]);
            double pivot = a[step * n + step];
            for (int i = step + 1; i < n; i++)
            {
                double factor = a[i * n + step] / pivot;
                if (factor == 0)
                {
                    continue;
                }

                for (int j = step; j < n; j++)
                {
                    a[i * n + j] -= factor * a[step * n + j];
                }
            }

            rank++;
        }

        if (rank != n - 1)
        {
            return null;
        }

        // Free variable is the last permuted column; back-substitute the pivots.
        var permuted = new double[n];
        permuted[n - 1] = 1;
        for (int i = n - 2; i >= 0; i--)
        {
            double sum = 0;
            for (int j = i + 1; j < n; j++)
            {
                sum += a[i * n + j] * permuted[j];
            }

            permuted[i] = -sum / a[i * n + i];
        }

        var result = new double[n];
        for (int k = 0; k < n; k++)
        {
            result[columnOrder[k]] = permuted[k];
        }

        return result;
    }

    private static double MaxAbs(double[] values)
    {
        double max = 0;
        foreach (double value in values)
        {
            max = Math.Max(max, Math.Abs(value));
        }

        return max;
    }

    private static void SwapRows(double[] a, int n, int r1, int r2)
    {
        if (r1 == r2)
        {
            return;
        }

        for (int j = 0; j < n; j++)
        {
            (a[r1 * n + j], a[r2 * n + j]) = (a[r2 * n + j], a[r1 * n + j]);
        }
    }

    private static void SwapColumns(double[] a, int n, int c1, int c2)
    {
        if (c1 == c2)
        {
            return;
        }

        for (int i = 0; i < n; i++)
        {
            (a[i * n + c1], a[i * n + c2]) = (a[i * n + c2], a[i * n + c1]);
        }
    }
}
