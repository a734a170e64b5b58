namespace BeliefLens.Reporting;

/// <summary>
/// Principal component analysis in float64 via the covariance matrix and cyclic Jacobi rotations.
/// Meant for the small dimensions here (belief states, residual width ≤ a few hundred).
/// </summary>
public sealed class Pca
{
    private Pca(int dimension, double[] mean, double[] components, double[] variances)
    {
        Dimension = dimension;
        Mean = mean;
        Components = components;
        ExplainedVariance = variances;
        double total = variances.Sum();
        ExplainedVarianceRatio = variances.Select(v => total > 0 ? v / total : 0).ToArray();
    }

    public int Dimension { get; }

    public double[] Mean { get; }

    /// <summary>Unit principal axes, flat <c>[Dimension][Dimension]</c>, row k is the k-th axis (descending variance).</summary>
    public double[] Components { get; }

    /// <summary>Variance along each axis (population covariance, weighted if weights were given), descending.</summary>
    public double[] ExplainedVariance { get; }

    public double[] ExplainedVarianceRatio { get; }

    /// <summary>Cumulative explained-variance ratio; entry k covers the first k+1 components.</summary>
    public double[] CumulativeRatio()
    {
        var c = new double[ExplainedVarianceRatio.Length];
        double sum = 0;
        for (int k = 0; k < c.Length; k++)
        {
            sum += ExplainedVarianceRatio[k];
            c[k] = Math.Min(sum, 1.0);
        }

        return c;
    }

    /// <summary>Fits flat <c>data[N][dimension]</c>, optionally weighted per row (weights need not be normalised).</summary>
    public static Pca Fit(ReadOnlySpan<double> data, int dimension, ReadOnlySpan<double> weights = default)
    {
        if (dimension <= 0 || data.Length % dimension != 0 || data.Length == 0)
        {
            throw new ArgumentException($"data: length {data.Length} is not a positive multiple of dimension {dimension}.", nameof(data));
        }

        int n = data.Length / dimension;
        if (!weights.IsEmpty && weights.Length != n)
        {
            throw new ArgumentException($"weights: {weights.Length} weights for {n} rows.", nameof(weights));
        }

        double totalWeight = 0;
        var mean = new double[dimension];
        for (int r = 0; r < n; r++)
        {
            double w = weights.IsEmpty ? 1 : weights[r];
            totalWeight += w;
            for (int j = 0; j < dimension; j++)
            {
                mean[j] += w * data[(r * dimension) + j];
            }
        }

        if (!(totalWeight > 0))
        {
            throw new ArgumentException("weights: must have a positive sum.", nameof(weights));
        }

        for (int j = 0; j < dimension; j++)
        {
            mean[j] /= totalWeight;
        }

        var cov = new double[dimension * dimension];
        var centered = new double[dimension];
        for (int r = 0; r < n; r++)
        {
            double w = weights.IsEmpty ? 1 : weights[r];
            for (int j = 0; j < dimension; j++)
            {
                centered[j] = data[(r * dimension) + j] - mean[j];
            }

            for (int i = 0; i < dimension; i++)
            {
                double ci = w * centered[i];
                for (int j = i; j < dimension; j++)
                {
                    cov[(i * dimension) + j] += ci * centered[j];
                }
            }
        }

        for (int i = 0; i < dimension; i++)
        {
            for (int j = i; j < dimension; j++)
            {
                double v = cov[(i * dimension) + j] / totalWeight;
                cov[(i * dimension) + j] = v;
                cov[(j * dimension) + i] = v;
            }
        }

        var (values, vectors) = SymmetricEigen(cov, dimension);
        var order = Enumerable.Range(0, dimension).OrderByDescending(k => values[k]).ToArray();
        var components = new double[dimension * dimension];
        var variances = new double[dimension];
        for (int k = 0; k < dimension; k++)
        {
            int src = order[k];
            variances[k] = Math.Max(values[src], 0); // tiny negative values are rounding of an exact zero
            // Column src of the eigenvector matrix is the axis; fix the sign so the largest entry is positive (deterministic output).
            int argMax = 0;
            for (int i = 1; i < dimension; i++)
            {
                if (Math.Abs(vectors[(i * dimension) + src]) > Math.Abs(vectors[(argMax * dimension) + src]))
                {
                    argMax = i;
                }
            }

            double sign = vectors[(argMax * dimension) + src] < 0 ? -1 : 1;
            for (int i = 0; i < dimension; i++)
            {
                components[(k * dimension) + i] = sign * vectors[(i * dimension) + src];
            }
        }

        return new Pca(dimension, mean, components, variances);
    }

    /// <summary>Projects flat rows onto the first <paramref name="count"/> axes; returns flat <c>[N][count]</c>.</summary>
    public double[] Transform(ReadOnlySpan<double> data, int count)
    {
        if (count <= 0 || count > Dimension)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"count: {count} must be in 1..{Dimension}.");
        }

        if (data.Length % Dimension != 0)
        {
            throw new ArgumentException($"data: length {data.Length} is not a multiple of dimension {Dimension}.", nameof(data));
        }

        int n = data.Length / Dimension;
        var result = new double[n * count];
        for (int r = 0; r < n; r++)
        {
            for (int k = 0; k < count; k++)
            {
                double sum = 0;
                for (int j = 0; j < Dimension; j++)
                {
                    sum += (data[(r * Dimension) + j] - Mean[j]) * Components[(k * Dimension) + j];
                }

                result[(r * count) + k] = sum;
            }
        }

        return result;
    }

    /// <summary>Cyclic Jacobi eigenvalue algorithm; returns eigenvalues and eigenvectors as columns of a flat matrix.</summary>
    private static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n)
    {
        var a = (double[])matrix.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            v[(i * n) + i] = 1;
        }

        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            double diag = 0;
            for (int i = 0; i < n; i++)
            {
                diag += a[(i * n) + i] * a[(i * n) + i];
                for (int j = i + 1; j < n; j++)
                {
                    off += a[(i * n) + j] * a[(i * n) + j];
                }
            }

            if (off <= 1e-30 * Math.Max(diag, double.Epsilon))
            {
                break;
            }

            for (int p = 0; p < n - 1; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[(p * n) + q];
                    if (apq == 0)
                    {
                        continue;
                    }

                    double app = a[(p * n) + p];
                    double aqq = a[(q * n) + q];
                    double theta = (aqq - app) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt((theta * theta) + 1));
                    if (theta == 0)
                    {
                        t = 1;
                    }

                    double c = 1 / Math.Sqrt((t * t) + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[(k * n) + p];
                        double akq = a[(k * n) + q];
                        a[(k * n) + p] = (c * akp) - (s * akq);
                        a[(k * n) + q] = (s * akp) + (c * akq);
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[(p * n) + k];
                        double aqk = a[(q * n) + k];
                        a[(p * n) + k] = (c * apk) - (s * aqk);
                        a[(q * n) + k] = (s * apk) + (c * aqk);
                    }

                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[(k * n) + p];
                        double vkq = v[(k * n) + q];
                        v[(k * n) + p] = (c * vkp) - (s * vkq);
                        v[(k * n) + q] = (s * vkp) + (c * vkq);
                    }
                }
            }
        }

        var values = new double[n];
        for (int i = 0; i < n; i++)
        {
            values[i] = a[(i * n) + i];
        }

        return (values, v);
    }
}
