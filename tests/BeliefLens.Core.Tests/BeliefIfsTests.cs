using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace BeliefLens.Core.Tests;

/// <summary>
/// The chaos game of the belief IFS. Expected values: the (d_LY 0.52 ± 0.02 and 1.35 ± 0.03 for Mess3, 2 for
/// the Bloch walk), which Reference/belief_ifs_dimension.py reproduces independently with numpy (0.5202, 1.3491, 2 at
/// 200,000 steps: explicit Jacobian matrices, numpy QR and numpy's generator), and the MSP's entropy rate.
/// </summary>
public sealed class BeliefIfsTests
{
    private static readonly IfsOptions Options = new(steps: 200_000, burnIn: 1_000, seed: 7);

    [Fact]
    public void Mess3PaperParametersHaveLyapunovDimensionNearHalf()
    {
        var result = BeliefIfs.Run(BuiltinProcesses.Mess3(0.05, 0.85), Options);
        Assert.InRange(result.LyapunovDimension, 0.50, 0.54);
        Assert.Equal(0, result.KaplanYorkeK); // h_μ < |λ_1|: the measure is thinner than a curve
        Assert.Equal(2, result.Lyapunov.Length);
        Assert.True(result.Lyapunov[0] >= result.Lyapunov[1]);
        Assert.InRange(result.Lyapunov[0], -1.56, -1.49); // numpy reference: −1.5259
    }

    [Fact]
    public void Mess3WeakerMixingHasLyapunovDimensionAboveOne()
    {
        var result = BeliefIfs.Run(BuiltinProcesses.Mess3(0.15, 0.6), Options);
        Assert.InRange(result.LyapunovDimension, 1.32, 1.38);
        Assert.Equal(1, result.KaplanYorkeK);
    }

    [Fact]
    public void BlochWalkFillsItsDisc()
    {
        var result = BeliefIfs.Run(BuiltinProcesses.TomQuantum(1, Math.Sqrt(51)), Options);
        Assert.Equal(2, result.SimplexDimension);
        Assert.Equal(2, result.KaplanYorkeK);
        Assert.Equal(2.0, result.LyapunovDimension);
        Assert.All(result.Lyapunov, l => Assert.InRange(l, -0.2, 0)); // contracting, but far less than h_μ ≈ 1.367 expands
        Assert.True(result.EntropyRate + result.Lyapunov.Sum() > 0);
    }

    [Theory]
    [InlineData("mess3", 0.05, 0.85)]
    [InlineData("mess3", 0.15, 0.6)]
    [InlineData("rrxor", 0.5, 0.5)]
    public void EntropyRateMatchesTheMsp(string name, double a, double b)
    {
        var process = name == "mess3" ? BuiltinProcesses.Mess3(a, b) : BuiltinProcesses.Rrxor(a, b);
        var result = BeliefIfs.Run(process, Options);
        var msp = MixedStatePresentation.Build(process, 12);

        // Mess3's MSP is infinite: h(12) is its entropy rate to ~1e-6 (h(L) converges geometrically); RRXOR's is exact.
        Assert.Equal(name == "rrxor", msp.ExactEntropyRate is not null);
        Assert.InRange(Math.Abs(result.EntropyRate - msp.EntropyRate), 0, 1e-3);
    }

    [Fact]
    public void FiniteBeliefSetsHaveDimensionZero()
    {
        // RRXOR's beliefs are finitely many points: its rank-1 maps annihilate tangent directions (λ = −∞).
        var result = BeliefIfs.Run(BuiltinProcesses.Rrxor(), new IfsOptions(20_000));
        Assert.Equal(0.0, result.LyapunovDimension);
        Assert.Contains(double.NegativeInfinity, result.Lyapunov);
    }

    [Theory]
    [InlineData(0.8, new[] { -1.5, -1.8 }, 0, 0.8 / 1.5)]
    [InlineData(1.1, new[] { -0.8, -0.9 }, 1, 1 + (0.3 / 0.9))]
    [InlineData(1.1, new[] { -0.1, -0.2 }, 2, 2)]
    [InlineData(0.0, new[] { -0.5, -0.6 }, 0, 0)]
    public void KaplanYorkeFormula(double h, double[] lyapunov, int k, double dimension)
    {
        var (actualK, actual) = BeliefIfs.LyapunovDimension(h, lyapunov);
        Assert.Equal(k, actualK);
        Assert.Equal(dimension, actual, 12);
    }

    [Fact]
    public void TangentBasisIsOrthonormalAndOrthogonalToTau()
    {
        double[] tau = [0.3, 2.1, 0.6, 1.0];
        var basis = BeliefIfs.TangentBasis(tau);
        Assert.Equal(3, basis.Length);
        for (int a = 0; a < 3; a++)
        {
            Assert.Equal(0, basis[a].Zip(tau, (x, y) => x * y).Sum(), 12);
            for (int b = 0; b < 3; b++)
            {
                Assert.Equal(a == b ? 1 : 0, basis[a].Zip(basis[b], (x, y) => x * y).Sum(), 12);
            }
        }
    }

    [Fact]
    public void SameSeedSameNumbers()
    {
        var process = BuiltinProcesses.Mess3();
        var first = BeliefIfs.Run(process, new IfsOptions(5_000, seed: 3));
        var second = BeliefIfs.Run(process, new IfsOptions(5_000, seed: 3));
        Assert.Equal(first.EntropyRate, second.EntropyRate);
        Assert.Equal(first.Lyapunov, second.Lyapunov);
        Assert.NotEqual(first.EntropyRate, BeliefIfs.Run(process, new IfsOptions(5_000, seed: 4)).EntropyRate);
    }

    [Fact]
    public void TokenWithProbabilityZeroEverywhereIsRefused()
    {
        var dead = Process.Create("dead", ProcessKind.Hmm, [[[0.5, 0.5], [0.5, 0.5]], [[0, 0], [0, 0]]]);
        var error = Assert.Throws<BeliefLensInputException>(() => BeliefIfs.Run(dead, new IfsOptions(10)));
        Assert.StartsWith("transitions[1]:", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void OptionsAreValidByConstruction()
    {
        Assert.Throws<BeliefLensInputException>(() => new IfsOptions(0));
        Assert.Throws<BeliefLensInputException>(() => new IfsOptions(10, burnIn: -1));
    }

    /// <summary>Runs the numpy reference at test time when Debian's python3 with numpy is there; skipped otherwise.</summary>
    [SkippableFact]
    public void AgreesWithTheIndependentNumpyReference()
    {
        const string python = "/usr/bin/python3";
        Skip.IfNot(File.Exists(python), "no /usr/bin/python3 (apt-get install python3-numpy)");
        string script = Path.Combine(AppContext.BaseDirectory, "Reference", "belief_ifs_dimension.py");
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("30000");
        using var child = StartChild(info);
        string output = child.StandardOutput.ReadToEnd();
        string error = child.StandardError.ReadToEnd();
        child.WaitForExit();
        Skip.If(error.Contains("No module named 'numpy'", StringComparison.Ordinal), "numpy missing for /usr/bin/python3");
        Assert.True(child.ExitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Core.Process[] processes = [BuiltinProcesses.Mess3(0.05, 0.85), BuiltinProcesses.Mess3(0.15, 0.6), BuiltinProcesses.TomQuantum(1, Math.Sqrt(51))];
        for (int k = 0; k < processes.Length; k++)
        {
            var ours = BeliefIfs.Run(processes[k], new IfsOptions(30_000));
            double theirH = lines[k].GetProperty("h_mu").GetDouble();
            double theirD = lines[k].GetProperty("d_ly").GetDouble();
            var theirL = lines[k].GetProperty("lyapunov").EnumerateArray().Select(e => e.GetDouble()).ToArray();

            // Two independent 30,000-step samples: sampling error ~3e-3 in h_μ and ~1e-2 in λ.
            Assert.InRange(Math.Abs(ours.EntropyRate - theirH), 0, 0.02);
            Assert.InRange(Math.Abs(ours.LyapunovDimension - theirD), 0, 0.04);
            for (int i = 0; i < theirL.Length; i++)
            {
                Assert.InRange(Math.Abs(ours.Lyapunov[i] - theirL[i]), 0, 0.05);
            }
        }

        static System.Diagnostics.Process StartChild(ProcessStartInfo info) =>
            System.Diagnostics.Process.Start(info) ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture, $"could not start {info.FileName}"));
    }
}
