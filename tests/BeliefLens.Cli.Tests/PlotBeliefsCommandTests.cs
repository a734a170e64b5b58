using System.Buffers.Binary;

namespace BeliefLens.Cli.Tests;

[Collection(ConsoleCollection.Name)]
public class PlotBeliefsCommandTests
{
    [Fact]
    public void Writes_a_png_and_an_svg_for_mess3()
    {
        string dir = Path.Combine(Path.GetTempPath(), "belieflens-plot-" + Guid.NewGuid().ToString("N"));
        try
        {
            string png = Path.Combine(dir, "sub", "mess3.png");
            var (code, _, _) = Run.Cli.Run(["plot-beliefs", "mess3", "--param", "x=0.15", "--param", "alpha=0.6", "--depth", "6", "--out", png]);
            Assert.Equal(0, code);
            byte[] bytes = File.ReadAllBytes(png);
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
            int width = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(16, 4));
            int height = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(20, 4));
            Assert.True(width >= 400 && height >= 400, $"{width}x{height}");
            Assert.Contains("</svg>", File.ReadAllText(Path.ChangeExtension(png, ".svg")), StringComparison.Ordinal);
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Theory]
    [InlineData("plot-beliefs", "mess3", "--out", "x.png")] // no depth
    [InlineData("plot-beliefs", "mess3", "--depth", "3", "--out", "x.jpg")] // not .png
    [InlineData("plot-beliefs", "--depth", "3", "--out", "x.png")] // no process
    [InlineData("plot-beliefs", "mess3", "--depth", "-1", "--out", "x.png")]
    public void Bad_input_exits_with_code_2(params string[] args)
    {
        var (code, _, error) = Run.Cli.Run(args);
        Assert.Equal(2, code);
        string message = error.Trim();
        Assert.StartsWith("error: ", message, StringComparison.Ordinal);
        Assert.DoesNotContain("\n", message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", message, StringComparison.Ordinal);
    }
}
