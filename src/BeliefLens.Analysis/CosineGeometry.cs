using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Geometry preservation (the quantum paper's cosine-similarity test): the R² of the predicted beliefs' pairwise cosine
/// similarities against the true beliefs' over anchor pairs (the upper triangles of the two cosine matrices), with the
/// true cosines as the target: R² = 1 − Σw(c_true − c_pred)² / Σw(c_true − c̄_true)², via <see cref="Metrics.RSquared"/>.
/// Pairs are weighted by p_i·p_j: when there are at most <c>maxPairs</c> pairs all of them are used with those weights,
/// otherwise <c>maxPairs</c> pairs are drawn with i and j independently ∝ p (i ≠ j), each with weight 1 — an unbiased
/// sample of the same weighted sum, deterministic given the seed.
/// </summary>
public static class CosineGeometry
{
    public const int DefaultMaxPairs = 200_000;

    public static double RSquared(DenseMatrix trueBeliefs, DenseMatrix predicted, IReadOnlyList<double> weights, int maxPairs = DefaultMaxPairs, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(trueBeliefs);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(weights);
        int n = trueBeliefs.Rows;
        if (predicted.Rows != n || weights.Count != n || predicted.Cols != trueBeliefs.Cols)
        {
            throw new BeliefLensInputException($"predicted: shape [{predicted.Rows}][{predicted.Cols}] and {weights.Count} weights do not match the [{n}][{trueBeliefs.Cols}] beliefs.");
        }

        if (n < 2 || maxPairs < 1)
        {
            throw new BeliefLensInputException($"anchors: need at least 2 anchors and max_pairs >= 1 (got {n} and {maxPairs}).");
        }

        var trueNorms = Norms(trueBeliefs);
        var predictedNorms = Norms(predicted);
        double sw = 0, swy = 0, swyy = 0, sse = 0;
        void Add(int i, int j, double w)
        {
            double c = Cosine(trueBeliefs, trueNorms, i, j);
            double e = c - Cosine(predicted, predictedNorms, i, j);
            sw += w;
            swy += w * c;
            swyy += w * c * c;
            sse += w * e * e;
        }

        if ((long)n * (n - 1) / 2 <= maxPairs)
        {
            for (int i = 0; i < n; i++)
            {
                for (int j = i + 1; j < n; j++)
                {
                    Add(i, j, weights[i] * weights[j]);
                }
            }
        }
        else
        {
            var cumulative = new double[n];
            double total = 0;
            for (int i = 0; i < n; i++)
            {
                total += weights[i];
                cumulative[i] = total;
            }

            var rng = new Rng(seed);
            for (int drawn = 0; drawn < maxPairs;)
            {
                int i = Draw(cumulative, total, rng), j = Draw(cumulative, total, rng);
                if (i != j)
                {
                    Add(i, j, 1);
                    drawn++;
                }
            }
        }

        double sst = swyy - (swy * swy / sw);
        return Metrics.RSquared(sse, Math.Max(sst, 0), swyy);
    }

    private static int Draw(double[] cumulative, double total, Rng rng)
    {
        double u = rng.NextDouble() * total;
        int index = Array.BinarySearch(cumulative, u);
        index = index < 0 ? ~index : index + 1;
        return Math.Min(index, cumulative.Length - 1);
    }

    private static double[] Norms(DenseMatrix m)
    {
        var norms = new double[m.Rows];
        for (int r = 0; r < m.Rows; r++)
        {
            norms[r] = TensorPrimitives.Norm<double>(m.Row(r));
        }

        return norms;
    }

    private static double Cosine(DenseMatrix m, double[] norms, int i, int j)
    {
        double denominator = norms[i] * norms[j];
        return denominator == 0 ? 0 : TensorPrimitives.Dot<double>(m.Row(i), m.Row(j)) / denominator;
    }
}
