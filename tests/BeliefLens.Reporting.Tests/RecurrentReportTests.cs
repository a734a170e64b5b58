namespace BeliefLens.Reporting.Tests;

/// <summary>How the report names a recurrent model and its sites.</summary>
public sealed class RecurrentReportTests
{
    [Theory]
    [InlineData("layers.0.hook_hidden", "L0 hidden")]
    [InlineData("layers.12.hook_hidden", "L12 hidden")]
    [InlineData("blocks.3.hook_resid_post", "L3 post")]
    [InlineData("hook_input", "hook_input")]
    [InlineData("layers.x.hook_hidden", "layers.x.hook_hidden")]
    public void ShortSiteNamesRecurrentLayers(string site, string expected) => Assert.Equal(expected, Figures.ShortSite(site));

    [Fact]
    public void TheSummaryNamesTheArchitecture()
    {
        var run = new SyntheticRun(depth: 5);
        var input = run.Input();
        var main = input.Sites.First(s => !s.IsConcatenation);
        Assert.StartsWith("A 4-layer transformer (d_model 64) was trained", ReportText.Summary(input, main), StringComparison.Ordinal);
        var gru = input with { Experiment = input.Experiment with { Architecture = "gru" } };
        Assert.StartsWith("A 4-layer GRU (64 hidden units per layer) was trained", ReportText.Summary(gru, main), StringComparison.Ordinal);
    }

    [Fact]
    public void TheHeadlineSectionNamesWhereTheGeometryLives()
    {
        using var temp = new TempDirectory();
        var input = new SyntheticRun(depth: 4).Input();
        Assert.Contains("<h2>Belief geometry in the residual stream</h2>", RunReportPage.Render(input, System.IO.Path.Combine(temp.Path, "transformer")).Html, StringComparison.Ordinal);
        var gru = input with { Experiment = input.Experiment with { Architecture = "gru" } };
        string html = RunReportPage.Render(gru, System.IO.Path.Combine(temp.Path, "gru")).Html;
        Assert.Contains("<h2>Belief geometry in the hidden states</h2>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("residual stream", html, StringComparison.Ordinal);
    }
}
