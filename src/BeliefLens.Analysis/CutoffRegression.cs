using System.Globalization;
using System.Runtime.InteropServices;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Options of <see cref="CutoffRegression"/>: the cutoff grid, the number of folds and the fold seed.
/// Valid by construction.
/// </summary>
public sealed record CutoffRegressionOptions
{
    public CutoffRegressionOptions(IReadOnlyList<double>? cutoffs = null, int folds = 10, ulong seed = 0, int maxDegreeOfParallelism = 0)
    {
        var grid = (cutoffs ?? PaperGrid).ToArray();
        if (grid.Length == 0 || grid.Any(r => !double.IsFinite(r) || r < 0 || r >= 1))
        {
            throw new BeliefLensInputException("cutoffs: need at least one cutoff, each in [0, 1) (e.g. 1e-10).");
        }

        if (folds < 2)
        {
            throw new BeliefLensInputException($"folds: {folds} is too few; cross-validation needs at least 2 folds (paper: 10).");
        }

        if (maxDegreeOfParallelism < 0)
        {
            throw new BeliefLensInputException("max_parallelism: must be >= 0 (0 = all cores).");
        }

        Array.Sort(grid);
        (Cutoffs, Folds, Seed, MaxDegreeOfParallelism) = (grid.Distinct().ToArray(), folds, seed, maxDegreeOfParallelism);
    }

    /// <summary>
    /// The quantum paper's grid (Riechers, Elliott &amp; Shai 2025, App. F): {1e-15, 1e-10, 1e-5} and 50 log-spaced values
    /// in [1e-8, 1e-3], ascending.
    /// </summary>
    public static IReadOnlyList<double> PaperGrid { get; } = BuildPaperGrid();

    public static CutoffRegressionOptions Default { get; } = new();

    /// <summary>Relative singular-value cutoffs r, ascending and distinct.</summary>
    public IReadOnlyList<double> Cutoffs { get; }

    public int Folds { get; }

    public ulong Seed { get; }

    public int MaxDegreeOfParallelism { get; }

    private static double[] BuildPaperGrid()
    {
        var grid = new List<double> { 1e-15, 1e-10, 1e-5 };
        for (int i = 0; i < 50; i++)
        {
            grid.Add(Math.Pow(10, -8 + (5.0 * i / 49)));
        }

        return [.. grid.Order()];
    }
}

/// <summary>
/// The result of <see cref="CutoffRegression.Fit"/>: the affine map refitted on all rows at the chosen cutoff, its
/// in-sample RMSE and the cross-validated held-out RMSE, and the CV loss of every cutoff.
/// RMSE here is the paper's √(Σ p‖η − η̂‖² / Σ p) (a distance per point, not per coordinate; Σ p = 1 for anchors).
/// </summary>
public sealed record CutoffFit(
    double[] Coefficients,
    double[] Intercept,
    int Features,
    int Targets,
    double Cutoff,
    int Rank,
    double Rmse,
    double HeldOutRmse,
    IReadOnlyList<double> Cutoffs,
    IReadOnlyList<double> CrossValidationLoss,
    int DistinctRows,
    double[] SingularValues)
{
    /// <summary>ŷ = [x, 1]·β for every row of <paramref name="x"/>, as [Rows][Targets].</summary>
    public DenseMatrix Predict(FeatureMatrix x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Cols != Features)
        {
            throw new BeliefLensInputException($"features: {x.Cols} columns but the fit has {Features}.");
        }

        var output = new double[x.Rows * Targets];
        var row = new double[Features];
        for (int r = 0; r < x.Rows; r++)
        {
            x.CopyRow(r, row);
            for (int t = 0; t < Targets; t++)
            {
                output[(r * Targets) + t] = Intercept[t] + TensorPrimitives.Dot<double>(row, Coefficients.AsSpan(t * Features, Features));
            }
        }

        return new DenseMatrix(output, x.Rows, Targets);
    }
}

/// <summary>
/// Affine weighted least squares with a singular-value cutoff chosen by K-fold cross-validation, as in the quantum
/// paper's probe protocol (App. F): one SVD of P^½A per fit (A = [features, 1]), singular values below r·σ_max zeroed,
/// r chosen on the weighted unsquared held-out distance Σ p‖η − η̂‖, then a refit on all rows.
/// <para>Rows are first merged: rows with bitwise-identical features and targets become one row carrying the sum of
/// their weights (the least-squares objective and the CV loss are both linear in the weights, so this changes nothing
/// mathematically). Folds are then assigned to the distinct rows by a seeded hash of their content, ranked and dealt
/// round-robin, so a fold never splits copies of a row and the assignment depends neither on row order nor on
/// duplication: duplicated rows and the equivalent weighted rows get the same folds, the same fits and the same r.</para>
/// <para>Speed: each fold's rows are reduced once to a triangle (Householder QR, targets carried); a training set's
/// triangle is the merge of its folds' triangles (prefix/suffix merges, O(n³) each); each SVD is a one-sided Jacobi on
/// that n×n triangle; every cutoff is then scored from the SVD factors by adding components in σ order.</para>
/// </summary>
public static class CutoffRegression
{
    public static CutoffFit Fit(FeatureMatrix x, DenseMatrix y, IReadOnlyList<double> weights, CutoffRegressionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(y);
        return Fit(x, [y], weights, options)[0];
    }

    /// <summary>
    /// Several independent fits of the same features (e.g. the beliefs of the minimal generator and of its Markov
    /// approximation), each with its own cutoff chosen by its own CV loss, sharing one factorisation and one SVD per fold.
    /// Rows are merged and folded on the features and all targets together, so every fit sees the same folds.
    /// </summary>
    public static IReadOnlyList<CutoffFit> Fit(FeatureMatrix x, IReadOnlyList<DenseMatrix> targetBlocks, IReadOnlyList<double> weights, CutoffRegressionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(targetBlocks);
        ArgumentNullException.ThrowIfNull(weights);
        options ??= CutoffRegressionOptions.Default;
        if (targetBlocks.Count == 0 || targetBlocks.Any(b => b is null || b.Rows != x.Rows) || weights.Count != x.Rows)
        {
            throw new BeliefLensInputException($"targets/weights: give one target row per feature row ({x.Rows}) in every block, and {x.Rows} weights (got {weights.Count}).");
        }

        for (int r = 0; r < weights.Count; r++)
        {
            if (!double.IsFinite(weights[r]) || weights[r] < 0)
            {
                throw new BeliefLensInputException($"weights[{r}]: {weights[r].ToString(CultureInfo.InvariantCulture)} is invalid; weights are finite and >= 0.");
            }
        }

        var y = targetBlocks.Count == 1 ? targetBlocks[0] : SideBySide(targetBlocks);
        var blockStart = new int[targetBlocks.Count + 1];
        for (int b = 0; b < targetBlocks.Count; b++)
        {
            blockStart[b + 1] = blockStart[b] + targetBlocks[b].Cols;
        }

        int d = x.Cols, n = d + 1, k = y.Cols, blocks = targetBlocks.Count;
        var rows = MergeIdentical(x, y, weights, out var mergedWeights);
        if (rows.Length < options.Folds)
        {
            throw new BeliefLensInputException($"rows: {rows.Length} distinct rows with weight > 0, fewer than the {options.Folds} folds; give more rows or fewer folds.");
        }

        var fold = AssignFolds(x, y, rows, options);
        int folds = options.Folds;
        var members = Enumerable.Range(0, folds).Select(f => Enumerable.Range(0, rows.Length).Where(i => fold[i] == f).ToArray()).ToArray();

        // Per fold: the design rows [x, 1] (row-major, for scoring) and the triangle of √p·[x, 1 | y].
        var design = new double[folds][];
        var targets = new double[folds][];
        var foldWeights = new double[folds][];
        var triangles = new TriangularFactor[folds];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism == 0 ? -1 : options.MaxDegreeOfParallelism };
        Parallel.For(0, folds, parallel, f =>
        {
            var ids = members[f];
            int m = ids.Length;
            var a = new double[m * n];
            var t = new double[m * k];
            var w = new double[m];
            var columns = new double[m * (n + k)];
            for (int i = 0; i < m; i++)
            {
                int source = rows[ids[i]];
                var row = a.AsSpan(i * n, n);
                x.CopyRow(source, row);
                row[d] = 1;
                y.Row(source).CopyTo(t.AsSpan(i * k, k));
                w[i] = mergedWeights[ids[i]];
                double root = Math.Sqrt(w[i]);
                for (int c = 0; c < n; c++)
                {
                    columns[(c * m) + i] = root * row[c];
                }

                for (int c = 0; c < k; c++)
                {
                    columns[((n + c) * m) + i] = root * t[(i * k) + c];
                }
            }

            (design[f], targets[f], foldWeights[f]) = (a, t, w);
            triangles[f] = TriangularFactor.FromRows(columns, m, n, k);
        });

        // prefix[f] = merge of folds 0..f−1, suffix[f] = merge of folds f..K−1 (null when empty).
        var prefix = new TriangularFactor?[folds + 1];
        var suffix = new TriangularFactor?[folds + 1];
        Parallel.Invoke(parallel,
            () =>
            {
                for (int f = 1; f <= folds; f++)
                {
                    prefix[f] = MergeInto(prefix[f - 1], triangles[f - 1]);
                }
            },
            () =>
            {
                for (int f = folds - 1; f >= 0; f--)
                {
                    suffix[f] = MergeInto(suffix[f + 1], triangles[f]);
                }
            });

        var cutoffs = options.Cutoffs;
        var loss = new double[blocks, folds, cutoffs.Count];
        var squared = new double[blocks, folds, cutoffs.Count];
        Parallel.For(0, folds, parallel, f =>
        {
            var training = prefix[f] is null ? suffix[f + 1]! : suffix[f + 1] is null ? prefix[f]! : MergeInto(prefix[f], suffix[f + 1]!);
            var svd = TriangularSvd.Of(training);
            Score(svd, cutoffs, design[f], targets[f], foldWeights[f], blockStart, f, loss, squared);
        });

        double weightTotal = mergedWeights.Sum();
        var full = TriangularSvd.Of(suffix[0]!);
        var fits = new CutoffFit[blocks];
        var beta = new double[n * k];
        for (int b = 0; b < blocks; b++)
        {
            int best = 0;
            double bestLoss = double.PositiveInfinity;
            var totals = new double[cutoffs.Count];
            for (int c = 0; c < cutoffs.Count; c++)
            {
                for (int f = 0; f < folds; f++)
                {
                    totals[c] += loss[b, f, c];
                }

                // Ties go to the larger cutoff (fewer directions), so scan ascending and accept equal losses.
                if (totals[c] <= bestLoss)
                {
                    (best, bestLoss) = (c, totals[c]);
                }
            }

            double heldOut = 0;
            for (int f = 0; f < folds; f++)
            {
                heldOut += squared[b, f, best];
            }

            int rank = full.Kept(cutoffs[best]);
            full.Solve(rank, beta);
            int width = blockStart[b + 1] - blockStart[b];
            var coefficients = new double[d * width];
            var intercept = new double[width];
            for (int t = 0; t < width; t++)
            {
                int column = blockStart[b] + t;
                beta.AsSpan(column * n, d).CopyTo(coefficients.AsSpan(t * d, d));
                intercept[t] = beta[(column * n) + d];
            }

            double inSample = 0;
            for (int f = 0; f < folds; f++)
            {
                var sums = new double[blocks * 2];
                Distances(design[f], targets[f], foldWeights[f], beta, n, k, blockStart, sums);
                inSample += sums[(b * 2) + 1];
            }

            fits[b] = new CutoffFit(coefficients, intercept, d, width, cutoffs[best], rank,
                Metrics.RootMeanSquaredDistance(inSample, weightTotal), Metrics.RootMeanSquaredDistance(heldOut, weightTotal),
                cutoffs, totals, rows.Length, full.SingularValues);
        }

        return fits;
    }

    private static DenseMatrix SideBySide(IReadOnlyList<DenseMatrix> blocks)
    {
        int rows = blocks[0].Rows, width = blocks.Sum(b => b.Cols);
        var data = new double[rows * width];
        for (int r = 0; r < rows; r++)
        {
            int offset = r * width;
            foreach (var block in blocks)
            {
                block.Row(r).CopyTo(data.AsSpan(offset, block.Cols));
                offset += block.Cols;
            }
        }

        return new DenseMatrix(data, rows, width);
    }

    private static TriangularFactor MergeInto(TriangularFactor? accumulated, TriangularFactor next)
    {
        var merged = accumulated?.Clone() ?? next.Clone();
        if (accumulated is not null)
        {
            merged.Merge(next);
        }

        return merged;
    }

    // Scores every cutoff on one held-out fold: the predictions for q components are built incrementally in σ order,
    // and a cutoff keeping as many components as the previous one reuses its scores.
    private static void Score(TriangularSvd svd, IReadOnlyList<double> cutoffs, double[] design, double[] targets, double[] weights, int[] blockStart,
        int fold, double[,,] loss, double[,,] squared)
    {
        int k = svd.K, blocks = blockStart.Length - 1;
        var predictions = new double[weights.Length * k];
        var sums = new double[blocks * 2];
        int built = -1;

        // Cutoffs ascend, so kept components descend: walk them from the largest cutoff down.
        for (int c = cutoffs.Count - 1; c >= 0; c--)
        {
            int q = svd.Kept(cutoffs[c]);
            if (q != built)
            {
                svd.AddComponentPredictions(Math.Max(built, 0), q, design, predictions);
                built = q;
                Errors(predictions, targets, weights, k, blockStart, sums);
            }

            for (int b = 0; b < blocks; b++)
            {
                loss[b, fold, c] = sums[b * 2];
                squared[b, fold, c] = sums[(b * 2) + 1];
            }
        }
    }

    // Per target block b: sums[2b] = Σ w‖y − ŷ‖ and sums[2b+1] = Σ w‖y − ŷ‖² over the rows.
    private static void Errors(double[] predictions, double[] targets, double[] weights, int k, int[] blockStart, double[] sums)
    {
        int blocks = blockStart.Length - 1;
        Array.Clear(sums);
        for (int i = 0; i < weights.Length; i++)
        {
            for (int b = 0; b < blocks; b++)
            {
                double distance = 0;
                for (int t = blockStart[b]; t < blockStart[b + 1]; t++)
                {
                    double e = targets[(i * k) + t] - predictions[(i * k) + t];
                    distance += e * e;
                }

                sums[b * 2] += weights[i] * Math.Sqrt(distance);
                sums[(b * 2) + 1] += weights[i] * distance;
            }
        }
    }

    // Per target block b: sums[2b] = Σ w‖y − [x,1]β‖ and sums[2b+1] = Σ w‖y − [x,1]β‖² over the rows.
    private static void Distances(double[] design, double[] targets, double[] weights, double[] beta, int n, int k, int[] blockStart, double[] sums)
    {
        int m = weights.Length, blocks = blockStart.Length - 1;
        Array.Clear(sums);
        var errors = new double[k];
        for (int i = 0; i < m; i++)
        {
            var row = design.AsSpan(i * n, n);
            for (int t = 0; t < k; t++)
            {
                double e = targets[(i * k) + t] - TensorPrimitives.Dot<double>(row, beta.AsSpan(t * n, n));
                errors[t] = e * e;
            }

            for (int b = 0; b < blocks; b++)
            {
                double distance = 0;
                for (int t = blockStart[b]; t < blockStart[b + 1]; t++)
                {
                    distance += errors[t];
                }

                sums[b * 2] += weights[i] * Math.Sqrt(distance);
                sums[(b * 2) + 1] += weights[i] * distance;
            }
        }
    }

    // One representative row per group of bitwise-identical (features, targets) rows with positive weight, in order of
    // first appearance, with the group's summed weight.
    private static int[] MergeIdentical(FeatureMatrix x, DenseMatrix y, IReadOnlyList<double> weights, out double[] merged)
    {
        var index = new Dictionary<ulong, List<int>>();
        var representatives = new List<int>();
        var summed = new List<double>();
        for (int r = 0; r < x.Rows; r++)
        {
            if (weights[r] == 0)
            {
                continue;
            }

            ulong hash = RowHash(x, y, r, 0);
            if (!index.TryGetValue(hash, out var candidates))
            {
                candidates = [];
                index.Add(hash, candidates);
            }

            int found = -1;
            foreach (int g in candidates)
            {
                int rep = representatives[g];
                if (x.RowsIdentical(rep, r) && MemoryMarshal.AsBytes(y.Row(rep)).SequenceEqual(MemoryMarshal.AsBytes(y.Row(r))))
                {
                    found = g;
                    break;
                }
            }

            if (found < 0)
            {
                candidates.Add(representatives.Count);
                representatives.Add(r);
                summed.Add(weights[r]);
            }
            else
            {
                summed[found] += weights[r];
            }
        }

        merged = [.. summed];
        return [.. representatives];
    }

    // Fold of each distinct row: rank of its seeded content hash (ties by first appearance), dealt round-robin.
    private static int[] AssignFolds(FeatureMatrix x, DenseMatrix y, int[] rows, CutoffRegressionOptions options)
    {
        var hashes = rows.Select(r => RowHash(x, y, r, options.Seed)).ToArray();
        var order = Enumerable.Range(0, rows.Length).OrderBy(i => hashes[i]).ThenBy(i => i).ToArray();
        var fold = new int[rows.Length];
        for (int rank = 0; rank < order.Length; rank++)
        {
            fold[order[rank]] = rank % options.Folds;
        }

        return fold;
    }

    // A seeded 64-bit hash of a row's float64 features and targets (SplitMix64 finaliser over each value's bits);
    // stable across processes, unlike HashCode.
    private static ulong RowHash(FeatureMatrix x, DenseMatrix y, int row, ulong seed)
    {
        Span<double> values = x.Cols <= 1024 ? stackalloc double[x.Cols] : new double[x.Cols];
        x.CopyRow(row, values);
        ulong h = Mix(seed ^ 0x9E3779B97F4A7C15UL);
        foreach (double v in values)
        {
            h = Mix(h ^ (ulong)BitConverter.DoubleToInt64Bits(v));
        }

        foreach (double v in y.Row(row))
        {
            h = Mix(h ^ (ulong)BitConverter.DoubleToInt64Bits(v));
        }

        return h;
    }

    private static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
