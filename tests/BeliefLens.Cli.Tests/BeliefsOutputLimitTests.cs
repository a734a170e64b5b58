namespace BeliefLens.Cli.Tests;

/// <summary>The beliefs command refuses, before enumerating or writing, a CSV larger than --max-output-gb.</summary>
[Collection(ConsoleCollection.Name)]
public sealed class BeliefsOutputLimitTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("belieflens-limit-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string PathFor(string name) => Path.Combine(_directory, name);

    private string SingleBranchSpec()
    {
        string spec = PathFor("m.json");
        File.WriteAllText(spec, """{"name":"m","type":"hmm","transitions":[[[1.0]]]}""");
        return spec;
    }

    [Fact]
    public void QuadraticCsvIsRefusedUpFront()
    {
        // 100,000 prefixes fit in memory, but their prefixes alone take Σ (2d−1) ≈ 10 GB of text.
        string csv = PathFor("m.csv");
        var (code, _, error) = Run.Cli.Run("beliefs", SingleBranchSpec(), "--depth", "99999", "--out", csv);
        Assert.Equal(2, code);
        Assert.Equal(
            "error: --depth: 99999 would write at least 10 GB of CSV, over the 2 GB limit; use a smaller --depth or raise the limit with --max-output-gb.",
            error.TrimEnd('\n'));
        Assert.False(File.Exists(csv));
    }

    [Fact]
    public void TheLimitIsRaisedOrLoweredByFlag()
    {
        string csv = PathFor("m.csv");
        Assert.Equal(0, Run.Cli.Run("beliefs", SingleBranchSpec(), "--depth", "1000", "--out", csv).Code);
        Assert.Equal(1_000_000 + (1001 * 5) + "prefix,probability,belief_0\n".Length, new FileInfo(csv).Length);

        // Mess3 to depth 8 has 9,841 rows of at most 4 numbers: refused under 1 MB by the bound after enumeration.
        var (code, _, error) = Run.Cli.Run("beliefs", "mess3", "--depth", "8", "--out", PathFor("mess3.csv"), "--max-output-gb", "0.0001");
        Assert.Equal(2, code);
        Assert.StartsWith("error: --depth: 8 would write up to 0.00112 GB of CSV, over the 0.0001 GB limit", error);
        Assert.False(File.Exists(PathFor("mess3.csv")));
        Assert.Equal(0, Run.Cli.Run("beliefs", "mess3", "--depth", "8", "--out", PathFor("mess3.csv"), "--max-output-gb", "0.01").Code);

        var zero = Run.Cli.Run("beliefs", "mess3", "--depth", "2", "--out", PathFor("x.csv"), "--max-output-gb", "0");
        Assert.Equal(2, zero.Code);
        Assert.StartsWith("error: --max-output-gb: 0 must be a positive number", zero.Error);
    }
}
