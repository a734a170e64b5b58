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

public class CheckpointSelectionTests
{
    [Fact]
    public void Emergence_panels_keep_the_ends_and_pick_checkpoints_evenly_spaced_in_log_error()
    {
        // Errors 1, 0.5, 0.1, 0.05, 0.01, 0.009, 0.001 (in training order, given shuffled): with 4 panels the targets
        // between 1 and 0.001 are 0.1 and 0.01 in log error, both present exactly.
        double[] errors = [1, 0.5, 0.1, 0.05, 0.01, 0.009, 0.001];
        var all = errors.Select((e, k) => new CheckpointGeometry(1000L * (k + 1), e, [])).Reverse().ToList();
        var picked = RunReportPage.SelectByError(all, 4).Select(c => c.ProbeMse).ToArray();
        Assert.Equal(new[] { 1, 0.1, 0.01, 0.001 }, picked);
        Assert.Equal(3, RunReportPage.SelectByError(all.Take(3).ToList(), 8).Count);
    }
}
