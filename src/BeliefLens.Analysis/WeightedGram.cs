using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BeliefLens.Analysis;

/// <summary>
/// Weighted centred second moments of (X, Y) over a set of rows, in float64:
/// means μx, μy (weighted), Gram G = Σ w (x−μx)(x−μx)ᵀ and cross C = Σ w (x−μx)(y−μy)ᵀ.
/// Two passes (means first, then centred products), so large offsets do not cancel.
/// Work is split into a fixed number of row parts that depends only on the row count, and the partial
/// sums are added in part order, so results do not depend on the core count or thread timing.
/// </summary>
internal sealed class WeightedGram
{
    private const int BlockRows = 64;
    private const int RowsPerPart = 16_384;
    private const int MaxParts = 16;

    public required int Features { get; init; }

    public required int Targets { get; init; }

    public required double WeightTotal { get; init; }

    public required int RowCount { get; init; }

    public required double[] FeatureMean { get; init; }

    public required double[] TargetMean { get; init; }

    /// <summary>[Features][Features] row-major, symmetric.</summary>
    public required double[] Gram { get; init; }

    /// <summary>[Features][Targets] row-major.</summary>
    public required double[] Cross { get; init; }

    /// <summary>Σ w ‖y−μy‖² (the total sum of squares of the targets).</summary>
    public required double TargetSumOfSquares { get; init; }

    public static WeightedGram Compute(FeatureMatrix x, DenseMatrix? y, double[]? weights, int[]? rows, int maxParallelism)
    {
        int n = rows?.Length ?? x.Rows;
        int d = x.Cols;
        int k = y?.Cols ?? 0;
        int parts = Math.Clamp((n + RowsPerPart - 1) / RowsPerPart, 1, MaxParts);
        var options = new ParallelOptions { MaxDegreeOfParallelism = maxParallelism > 0 ? maxParallelism : Environment.ProcessorCount };

        // Pass 1: weighted sums for the means.
        var partSums = new double[parts][];
        Parallel.For(0, parts, options, part =>
        {
            var (start, end) = PartRange(part, parts, n);
            var sums = new double[d + k + 1];
            var row = new double[Padded(d)];
            for (int r = start; r < end; r++)
            {
                int index = rows is null ? r : rows[r];
                double w = weights is null ? 1.0 : weights[index];
                if (w == 0)
                {
                    continue;
                }

                x.CopyRow(index, row);
                SymmetricEigen.Axpy(w, row.AsSpan(0, d), sums.AsSpan(0, d));
                for (int t = 0; t < k; t++)
                {
                    sums[d + t] += w * y!.Data[index * k + t];
                }

                sums[d + k] += w;
            }

            partSums[part] = sums;
        });

        var total = new double[d + k + 1];
        foreach (var sums in partSums)
        {
            for (int i = 0; i < total.Length; i++)
            {
                total[i] += sums[i];
            }
        }

        double weightTotal = total[d + k];
        var featureMean = new double[d];
        var targetMean = new double[k];
        if (weightTotal > 0)
        {
            for (int i = 0; i < d; i++)
            {
                featureMean[i] = total[i] / weightTotal;
            }

            for (int t = 0; t < k; t++)
            {
                targetMean[t] = total[d + t] / weightTotal;
            }
        }

        // Pass 2: centred, √w-scaled rows are gathered into blocks; G += BᵀB with rank-4 updates.
        int dp = Padded(d);
        var partGram = new double[parts][];
        var partCross = new double[parts][];
        var partSst = new double[parts];
        Parallel.For(0, parts, options, part =>
        {
            var (start, end) = PartRange(part, parts, n);
            var gram = new double[dp * dp];
            var crossT = new double[k * dp]; // [Targets][Features], contiguous over features
            var block = new double[BlockRows * dp];
            var blockY = new double[BlockRows * Math.Max(k, 1)];
            double sst = 0;
            int filled = 0;
            for (int r = start; r < end; r++)
            {
                int index = rows is null ? r : rows[r];
                double w = weights is null ? 1.0 : weights[index];
                if (w == 0)
                {
                    continue;
                }

                double root = Math.Sqrt(w);
                Span<double> target = block.AsSpan(filled * dp, dp);
                x.CopyRow(index, target);
                for (int i = 0; i < d; i++)
                {
                    target[i] = (target[i] - featureMean[i]) * root;
                }

                for (int t = 0; t < k; t++)
                {
                    double centred = (y!.Data[index * k + t] - targetMean[t]) * root;
                    blockY[filled * k + t] = centred;
                    sst += centred * centred;
                }

                if (++filled == BlockRows)
                {
                    AccumulateBlock(block, blockY, filled, d, dp, k, gram, crossT);
                    filled = 0;
                }
            }

            AccumulateBlock(block, blockY, filled, d, dp, k, gram, crossT);
            partGram[part] = gram;
            partCross[part] = crossT;
            partSst[part] = sst;
        });

        var gramFull = new double[d * d];
        var cross = new double[d * k];
        double sstTotal = 0;
        for (int part = 0; part < parts; part++)
        {
            double[] g = partGram[part];
            for (int i = 0; i < d; i++)
            {
                for (int j = i; j < d; j++)
                {
                    gramFull[i * d + j] += g[i * dp + j];
                }
            }

            for (int t = 0; t < k; t++)
            {
                for (int i = 0; i < d; i++)
                {
                    cross[i * k + t] += partCross[part][t * dp + i];
                }
            }

            sstTotal += partSst[part];
        }

        for (int i = 0; i < d; i++)
        {
            for (int j = 0; j < i; j++)
            {
                gramFull[i * d + j] = gramFull[j * d + i];
            }
        }

        return new WeightedGram
        {
            Features = d,
            Targets = k,
            WeightTotal = weightTotal,
            RowCount = n,
            FeatureMean = featureMean,
            TargetMean = targetMean,
            Gram = gramFull,
            Cross = cross,
            TargetSumOfSquares = sstTotal,
        };
    }

    private static (int Start, int End) PartRange(int part, int parts, int n) =>
        ((int)((long)n * part / parts), (int)((long)n * (part + 1) / parts));

    private static int Padded(int d)
    {
        int width = Vector<double>.Count;
        return (d + width - 1) / width * width;
    }

    /// <summary>
    /// Upper triangle (at vector granularity) of G += BᵀB, and Cᵀ += YᵀB, for the first <paramref name="count"/> rows of the block.
    /// G is updated in 64-column tiles so the tile being accumulated stays in L1 even for wide (concatenated) sites.
    /// </summary>
    private static void AccumulateBlock(double[] block, double[] blockY, int count, int d, int dp, int k, double[] gram, double[] crossT)
    {
        if (count == 0)
        {
            return;
        }

        const int Tile = 64;
        for (int ib = 0; ib < d; ib += Tile)
        {
            int iEnd = Math.Min(d, ib + Tile);
            for (int jb = ib / Vector<double>.Count * Vector<double>.Count; jb < dp; jb += Tile)
            {
                int jEnd = Math.Min(dp, jb + Tile);
                AccumulateTile(block, count, dp, gram, ib, iEnd, jb, jEnd);
            }
        }

        for (int row = 0; row < count; row++)
        {
            ReadOnlySpan<double> features = block.AsSpan(row * dp, dp);
            for (int t = 0; t < k; t++)
            {
                SymmetricEigen.Axpy(blockY[row * k + t], features, crossT.AsSpan(t * dp, dp));
            }
        }
    }

    private static void AccumulateTile(double[] block, int count, int dp, double[] gram, int iStart, int iEnd, int jStart, int jEnd)
    {
        int width = Vector<double>.Count;
        ref double g0 = ref MemoryMarshal.GetArrayDataReference(gram);
        ref double b0 = ref MemoryMarshal.GetArrayDataReference(block);
        int r = 0;
        for (; r + 4 <= count; r += 4)
        {
            ref double x0 = ref Unsafe.Add(ref b0, r * dp);
            ref double x1 = ref Unsafe.Add(ref b0, (r + 1) * dp);
            ref double x2 = ref Unsafe.Add(ref b0, (r + 2) * dp);
            ref double x3 = ref Unsafe.Add(ref b0, (r + 3) * dp);
            for (int i = iStart; i < iEnd; i++)
            {
                var a0 = new Vector<double>(Unsafe.Add(ref x0, i));
                var a1 = new Vector<double>(Unsafe.Add(ref x1, i));
                var a2 = new Vector<double>(Unsafe.Add(ref x2, i));
                var a3 = new Vector<double>(Unsafe.Add(ref x3, i));
                ref double gi = ref Unsafe.Add(ref g0, i * dp);
                for (int j = Math.Max(jStart, i / width * width); j < jEnd; j += width)
                {
                    nuint offset = (nuint)j;
                    Vector<double> acc = Vector.LoadUnsafe(ref gi, offset);
                    acc = Vector.FusedMultiplyAdd(a0, Vector.LoadUnsafe(ref x0, offset), acc);
                    acc = Vector.FusedMultiplyAdd(a1, Vector.LoadUnsafe(ref x1, offset), acc);
                    acc = Vector.FusedMultiplyAdd(a2, Vector.LoadUnsafe(ref x2, offset), acc);
                    acc = Vector.FusedMultiplyAdd(a3, Vector.LoadUnsafe(ref x3, offset), acc);
                    acc.StoreUnsafe(ref gi, offset);
                }
            }
        }

        for (; r < count; r++)
        {
            ref double x0 = ref Unsafe.Add(ref b0, r * dp);
            for (int i = iStart; i < iEnd; i++)
            {
                var a0 = new Vector<double>(Unsafe.Add(ref x0, i));
                ref double gi = ref Unsafe.Add(ref g0, i * dp);
                for (int j = Math.Max(jStart, i / width * width); j < jEnd; j += width)
                {
                    nuint offset = (nuint)j;
                    Vector<double> acc = Vector.LoadUnsafe(ref gi, offset);
                    acc = Vector.FusedMultiplyAdd(a0, Vector.LoadUnsafe(ref x0, offset), acc);
                    acc.StoreUnsafe(ref gi, offset);
                }
            }
        }
    }
}
