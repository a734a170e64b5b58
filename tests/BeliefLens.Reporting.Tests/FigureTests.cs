using SkiaSharp;

namespace BeliefLens.Reporting.Tests;

public class FigureTests
{
    [Fact]
    public void Every_figure_is_written_as_a_decodable_png_of_the_stated_size_and_an_svg()
    {
        using var dir = new TempDirectory();
        var run = new SyntheticRun(depth: 5);
        var (figures, animation) = run.WriteFigures(dir.Path);
        using (var codec = SKCodec.Create(animation.GifPath))
        {
            Assert.Equal(run.Checkpoints.Length, codec.FrameCount);
            Assert.Equal(animation.Width, codec.Info.Width);
            Assert.Equal(animation.Height, codec.Info.Height);
        }

        foreach (var figure in figures)
        {
            using var bitmap = SKBitmap.Decode(figure.PngPath);
            Assert.NotNull(bitmap);
            Assert.Equal(figure.Width, bitmap.Width);
            Assert.Equal(figure.Height, bitmap.Height);
            string svg = File.ReadAllText(figure.SvgPath);
            Assert.StartsWith("<?xml", svg, StringComparison.Ordinal);
            Assert.Contains("</svg>", svg, StringComparison.Ordinal);
            Assert.False(string.IsNullOrWhiteSpace(figure.Caption));
        }
    }

    [Fact]
    public void Belief_geometry_colours_each_vertex_belief_with_its_rgb_colour()
    {
        // Three beliefs at the vertices: the rendered picture must hold pure red, green and blue pixels.
        using var dir = new TempDirectory();
        var points = new BeliefPoints([1, 0, 0, 0, 1, 0, 0, 0, 1], 3);
        var figure = Figures.BeliefGeometry(points, "vertices", dir.Path);
        using var bitmap = SKBitmap.Decode(figure.PngPath);
        var pixels = bitmap.Pixels;
        Assert.Contains(pixels, p => p.Red > 240 && p.Green < 15 && p.Blue < 15);
        Assert.Contains(pixels, p => p.Green > 240 && p.Red < 15 && p.Blue < 15);
        Assert.Contains(pixels, p => p.Blue > 240 && p.Red < 15 && p.Green < 15);
    }

    [Fact]
    public void More_than_three_states_use_a_pca_layout()
    {
        var random = new Random(1);
        var beliefs = new double[400 * 5];
        for (int k = 0; k < 400; k++)
        {
            double sum = 0;
            for (int s = 0; s < 5; s++)
            {
                sum += beliefs[(k * 5) + s] = random.NextDouble();
            }

            for (int s = 0; s < 5; s++)
            {
                beliefs[(k * 5) + s] /= sum;
            }
        }

        var layout = BeliefLayout.Fit(new BeliefPoints(beliefs, 5));
        Assert.False(layout.IsSimplex);
        var (xs, ys) = layout.Project(beliefs);
        Assert.Equal(400, xs.Length);
        Assert.Equal(0, xs.Average(), 12); // PCA coordinates are centred
        Assert.Equal(0, ys.Average(), 12);
        using var dir = new TempDirectory();
        var figure = Figures.BeliefGeometry(new BeliefPoints(beliefs, 5), "random 5-state", dir.Path);
        using var bitmap = SKBitmap.Decode(figure.PngPath);
        Assert.Equal(figure.Width, bitmap.Width);
    }

    [Fact]
    public void Mismatched_prediction_shapes_are_rejected()
    {
        using var dir = new TempDirectory();
        var truth = new BeliefPoints([1, 0, 0, 0, 1, 0], 3);
        var site = SyntheticRun.Site("blocks.0.hook_resid_post", 0.1, 0.1, 0.1, 0.1);
        var ex = Assert.Throws<ArgumentException>(() => Figures.GroundTruthVsPredicted(truth, [new PredictedPanel(site, [1, 0, 0])], dir.Path));
        Assert.Contains("predicted", ex.Message, StringComparison.Ordinal);
    }
}
