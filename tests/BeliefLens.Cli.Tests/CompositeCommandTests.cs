namespace BeliefLens.Cli.Tests;

/// <summary>The torch-free commands on a mixture spec show both levels; bad composite specs exit 2 with one line.</summary>
public sealed class CompositeCommandTests
{
    private const string DursleyWonka = """
        {"name": "dw", "type": "mixture", "bos": true, "components": [
          {"process": "mr_name", "weight": 0.5, "vocab_map": [0, 1, 2, 3]},
          {"process": "mr_name", "weight": 0.5, "vocab_map": [0, 1, 2, 4]}]}
        """;

    [Fact]
    public void MspAndBeliefsShowComponentsAndTheMetaBelief()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"belieflens-composite-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string spec = Path.Combine(dir, "dw.json");
            File.WriteAllText(spec, DursleyWonka);
            var (code, output, _) = Tests.Run.Cli.Run("msp", spec, "--depth", "8");
            Assert.Equal(0, code);
            Assert.Contains("mixture of 2: asymptotic loss 0.835876", output);
            Assert.Contains("component 1: mr_name(p=0.4,q=0.25) weight 0.5 tokens→[0,1,2,4]", output);

            string csv = Path.Combine(dir, "b.csv");
            (code, output, _) = Tests.Run.Cli.Run("beliefs", spec, "--depth", "3", "--out", csv);
            Assert.Equal(0, code);
            var parts = File.ReadAllLines(Path.Combine(dir, "b.parts.csv"));
            Assert.StartsWith("prefix,meta_0,meta_1,component0_Mr.", parts[0]);
            Assert.Equal(File.ReadAllLines(csv).Length, parts.Length);

            File.WriteAllText(spec, DursleyWonka.Replace("0.5, \"vocab_map\": [0, 1, 2, 4]", "0.6, \"vocab_map\": [0, 1, 2, 4]", StringComparison.Ordinal));
            var (bad, _, error) = Tests.Run.Cli.Run("msp", spec, "--depth", "3");
            Assert.Equal(2, bad);
            Assert.Contains("dw.json: components: the weights sum to 1.1, not 1", error);
            Assert.Single(error.Trim().Split('\n'));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
