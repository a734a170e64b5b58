namespace BeliefLens.Reporting.Tests;

public class SimplexProjectionTests
{
    [Theory]
    [InlineData(1, 0, 0, 0, 0)]
    [InlineData(0, 1, 0, 1, 0)]
    [InlineData(0, 0, 1, 0.5, 0.8660254037844386)]
    public void Vertices_land_on_the_triangle_corners(double b0, double b1, double b2, double x, double y)
    {
        var p = SimplexProjection.Project(b0, b1, b2);
        Assert.Equal(x, p.X, 15);
        Assert.Equal(y, p.Y, 15);
    }

    [Fact]
    public void Centroid_lands_on_the_triangle_centroid()
    {
        var p = SimplexProjection.Project(1.0 / 3, 1.0 / 3, 1.0 / 3);
        Assert.Equal(0.5, p.X, 15);
        Assert.Equal(Math.Sqrt(3) / 6, p.Y, 15);
    }

    [Fact]
    public void Projection_preserves_distances_up_to_the_simplex_scale()
    {
        // The map is an isometry from the simplex plane (scaled by 1/√2) onto the triangle of side 1.
        var a = SimplexProjection.Project(0.2, 0.5, 0.3);
        var b = SimplexProjection.Project(0.6, 0.1, 0.3);
        double drawn = Math.Sqrt(Math.Pow(a.X - b.X, 2) + Math.Pow(a.Y - b.Y, 2));
        double simplex = Math.Sqrt((0.4 * 0.4) + (0.4 * 0.4) + 0) / Math.Sqrt(2);
        Assert.Equal(simplex, drawn, 14);
    }
}

public class PcaTests
{
    [Fact]
    public void Recovers_known_variance_ratios_of_rotated_axis_aligned_data()
    {
        // Points ±a·e1, ±b·e2, ±c·e3 (each once) have per-axis variances 2a²/6, 2b²/6, 2c²/6 exactly,
        // and a rotation must not change them.
        double a = 3, b = 2, c = 1;
        var rows = new List<double[]> { new[] { a, 0, 0 }, new[] { -a, 0, 0 }, new[] { 0, b, 0 }, new[] { 0, -b, 0 }, new[] { 0, 0, c }, new[] { 0, 0, -c } };
        var rotation = Rotation(0.7, 1.1);
        var data = rows.SelectMany(r => Multiply(rotation, r)).Select(v => v + 5).ToArray();
        var pca = Pca.Fit(data, 3);
        double total = (a * a) + (b * b) + (c * c);
        Assert.Equal(a * a / total, pca.ExplainedVarianceRatio[0], 12);
        Assert.Equal(b * b / total, pca.ExplainedVarianceRatio[1], 12);
        Assert.Equal(c * c / total, pca.ExplainedVarianceRatio[2], 12);
        Assert.Equal(2 * a * a / 6, pca.ExplainedVariance[0], 12);
        Assert.Equal(1.0, pca.CumulativeRatio()[^1], 12);

        // The first axis is the rotated e1 (up to sign).
        var e1 = Multiply(rotation, [1, 0, 0]);
        double dot = Enumerable.Range(0, 3).Sum(i => pca.Components[i] * e1[i]);
        Assert.Equal(1.0, Math.Abs(dot), 12);
    }

    [Fact]
    public void Transform_of_the_mean_is_zero_and_axes_are_orthonormal()
    {
        var random = new Random(5);
        var data = Enumerable.Range(0, 300).Select(_ => random.NextDouble()).ToArray();
        var pca = Pca.Fit(data, 5);
        var z = pca.Transform(pca.Mean, 5);
        Assert.All(z, v => Assert.Equal(0, v, 12));
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                double dot = Enumerable.Range(0, 5).Sum(k => pca.Components[(i * 5) + k] * pca.Components[(j * 5) + k]);
                Assert.Equal(i == j ? 1 : 0, dot, 12);
            }
        }
    }

    [Fact]
    public void Beliefs_of_three_states_span_two_components()
    {
        var data = new double[] { 1, 0, 0, 0, 1, 0, 0, 0, 1, 0.2, 0.3, 0.5 };
        var pca = Pca.Fit(data, 3);
        Assert.Equal(0, pca.ExplainedVarianceRatio[2], 12);
    }

    private static double[,] Rotation(double alpha, double beta)
    {
        double ca = Math.Cos(alpha), sa = Math.Sin(alpha), cb = Math.Cos(beta), sb = Math.Sin(beta);
        var rz = new[,] { { ca, -sa, 0 }, { sa, ca, 0 }, { 0, 0, 1 } };
        var rx = new[,] { { 1, 0, 0 }, { 0, cb, -sb }, { 0, sb, cb } };
        var r = new double[3, 3];
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                for (int k = 0; k < 3; k++)
                {
                    r[i, j] += rz[i, k] * rx[k, j];
                }
            }
        }

        return r;
    }

    private static double[] Multiply(double[,] m, double[] v) =>
        Enumerable.Range(0, 3).Select(i => (m[i, 0] * v[0]) + (m[i, 1] * v[1]) + (m[i, 2] * v[2])).ToArray();
}

public class StatisticsTests
{
    [Fact]
    public void RSquared_is_one_for_a_line_and_matches_a_hand_computed_value()
    {
        Assert.Equal(1.0, Statistics.RSquared([1, 2, 3, 4], [3, 5, 7, 9]), 14);
        // x = 1,2,3 ; y = 1,3,2: sxy = 1, sxx = 2, syy = 2 → R² = 1/4.
        Assert.Equal(0.25, Statistics.RSquared([1, 2, 3], [1, 3, 2]), 14);
    }
}

public class GifEncoderTests
{
    [Fact]
    public void Frames_round_trip_through_a_gif_decoder_pixel_for_pixel()
    {
        // Palette colours only, so quantisation is exact; noise-like content exercises LZW table resets and code widths.
        var random = new Random(11);
        var palette = GifEncoder.Palette;
        var frames = new List<SkiaSharp.SKBitmap>();
        var expected = new List<int[]>();
        for (int f = 0; f < 3; f++)
        {
            var bitmap = new SkiaSharp.SKBitmap(97, 61);
            var indices = new int[97 * 61];
            for (int k = 0; k < indices.Length; k++)
            {
                // Frame 0 is noise (many table resets), frame 1 a flat colour, frame 2 stripes.
                indices[k] = f switch { 0 => random.Next(216), 1 => 37, _ => (k / 7) % 216 };
                var c = palette[indices[k]];
                bitmap.SetPixel(k % 97, k / 97, new SkiaSharp.SKColor(c.R, c.G, c.B));
            }

            frames.Add(bitmap);
            expected.Add(indices);
        }

        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "a.gif");
        GifEncoder.Write(frames, path, 10);
        using var codec = SkiaSharp.SKCodec.Create(path);
        Assert.NotNull(codec);
        Assert.Equal(3, codec.FrameCount);
        for (int f = 0; f < 3; f++)
        {
            using var decoded = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(97, 61, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Premul));
            var result = codec.GetPixels(decoded.Info, decoded.GetPixels(), new SkiaSharp.SKCodecOptions(f));
            Assert.Equal(SkiaSharp.SKCodecResult.Success, result);
            for (int k = 0; k < expected[f].Length; k++)
            {
                var c = palette[expected[f][k]];
                var p = decoded.GetPixel(k % 97, k / 97);
                Assert.True(p.Red == c.R && p.Green == c.G && p.Blue == c.B, $"frame {f} pixel {k}: {p} vs {c}");
            }
        }

        foreach (var b in frames)
        {
            b.Dispose();
        }
    }
}

public class WeightedPcaTests
{
    [Fact]
    public void A_weight_of_two_equals_duplicating_the_row()
    {
        var random = new Random(3);
        var data = Enumerable.Range(0, 40 * 4).Select(_ => random.NextDouble()).ToArray();
        var weights = Enumerable.Range(0, 40).Select(k => k == 7 ? 2.0 : 1.0).ToArray();
        var duplicated = data.Concat(data.Skip(7 * 4).Take(4)).ToArray();
        var weighted = Pca.Fit(data, 4, weights);
        var plain = Pca.Fit(duplicated, 4);
        for (int k = 0; k < 4; k++)
        {
            Assert.Equal(plain.ExplainedVariance[k], weighted.ExplainedVariance[k], 12);
            Assert.Equal(plain.Mean[k], weighted.Mean[k], 12);
        }
    }
}

public class CheckpointSelectionTests
{
    [Fact]
    public void Log_spaced_selection_keeps_ends_and_picks_nearest_in_log_tokens()
    {
        long[] tokens = [1, 10, 20, 100, 500, 1000, 5000, 10_000];
        var all = tokens.Select(t => new CheckpointGeometry(t, 0, [])).Reverse().ToList();
        var picked = Figures.SelectLogSpaced(all, 5).Select(c => c.TokensSeen).ToArray();
        // Targets 1, 10, 100, 1000, 10000 are all present exactly.
        Assert.Equal(new long[] { 1, 10, 100, 1000, 10_000 }, picked);
        Assert.Equal(3, Figures.SelectLogSpaced(all.Take(3).ToList(), 8).Count);
    }
}
