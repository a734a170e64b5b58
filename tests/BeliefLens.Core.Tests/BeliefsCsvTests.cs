using System.Globalization;
using System.Text;
using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

public sealed class BeliefsCsvTests
{
    private static byte[] Csv(BeliefTree tree)
    {
        using var stream = new MemoryStream();
        BeliefsCsv.Write(tree, stream);
        return stream.ToArray();
    }

    public static TheoryData<string, int> Trees => new()
    {
        { "mess3", 3 },
        { "mess3", 9 },        // several chunks of rows, formatted in parallel
        { "days_of_week", 4 }, // two-digit tokens, and parents with only some of the tokens as children
    };

    [Theory]
    [MemberData(nameof(Trees))]
    public void RowsAreTheTreeInRoundTripFormat(string process, int depth)
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.Create(process), depth);
        var lines = Encoding.UTF8.GetString(Csv(tree)).Split('\n');
        Assert.Equal("prefix,probability," + string.Join(',', Enumerable.Range(0, tree.Process.StateCount).Select(j => $"belief_{j}")), lines[0]);
        Assert.Equal(tree.Count + 2, lines.Length); // header, rows, and the empty text after the final newline
        Assert.Equal(string.Empty, lines[^1]);
        for (int k = 0; k < tree.Count; k++)
        {
            var expected = new StringBuilder(string.Join(' ', tree.Prefix(k)));
            expected.Append(',').Append(Math.Exp(tree.LogProbability[k]).ToString("R", CultureInfo.InvariantCulture));
            foreach (double b in tree.Belief(k))
            {
                expected.Append(',').Append(b.ToString("R", CultureInfo.InvariantCulture));
            }

            Assert.Equal(expected.ToString(), lines[k + 1]);
        }
    }

    [Fact]
    public void DaysOfWeekWritesTwoDigitTokens()
    {
        var tree = BeliefTree.Enumerate(BuiltinProcesses.DaysOfWeek(), 2);
        var text = Encoding.UTF8.GetString(Csv(tree));
        Assert.Contains("\n0 10,", text);
        Assert.Contains("\n10 0,", text);
    }

    [Fact]
    public void SingleBranchSizeIsExactlyTheLowerBound()
    {
        // One state, one token: every row is "0 0 … 0,1,1"; the lower bound assumes exactly that.
        var process = Process.Create("m", ProcessKind.Hmm, [[[1.0]]]);
        var tree = BeliefTree.Enumerate(process, 50);
        long bytes = Csv(tree).Length;
        Assert.Equal(bytes, BeliefsCsv.MinBytes(1, 50));
        Assert.True(BeliefsCsv.MaxBytes(1, 1, tree.DepthStart) >= bytes);

        // Depth 99,999: 100,000 prefixes, but the prefixes take Σ (2d−1) = 99,999² bytes; header 28, rows ",1,1\n".
        Assert.Equal(28 + (99_999.0 * 99_999) + (100_000 * 5), BeliefsCsv.MinBytes(1, 99_999));
    }

    [Theory]
    [InlineData("mess3", 7, 1.25)]
    [InlineData("post_quantum", 4, 1.25)]
    [InlineData("rrxor", 10, 4)]        // beliefs of 0, 1/2, 1/3 print short
    [InlineData("days_of_week", 3, 5)]  // seven beliefs, mostly exact 0
    [InlineData("golden_mean", 12, 4)]
    public void SizeBoundsHold(string name, int depth, double slack)
    {
        var process = BuiltinProcesses.Create(name);
        var tree = BeliefTree.Enumerate(process, depth);
        long bytes = Csv(tree).Length;
        double upper = BeliefsCsv.MaxBytes(process.StateCount, process.VocabSize, tree.DepthStart);
        Assert.InRange(bytes, BeliefsCsv.MinBytes(process.StateCount, depth), upper);
        Assert.True(upper < slack * bytes, $"{name}: bound {upper} for {bytes} bytes");
    }
}
