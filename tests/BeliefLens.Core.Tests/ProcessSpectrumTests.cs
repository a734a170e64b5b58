using System.Numerics;
using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

/// <summary>The nonsymmetric eigen-solver, the spectrum of T = Σx T[x], the head-count rule and the constrained beliefs.</summary>
public sealed class ProcessSpectrumTests
{
    private static void AssertComplex(Complex expected, Complex actual, double tolerance)
    {
        Assert.True(Complex.Abs(expected - actual) <= tolerance, $"expected {expected}, got {actual} (|diff| {Complex.Abs(expected - actual):G3})");
    }

    [Fact]
    public void GeneralEigenMatchesNumpyOnANonsymmetricMatrix()
    {
        double[] a =
        [
            4, -2, 1, 0, 3, -1,
            1, 0, 2, -3, 1, 2,
            0, 5, -1, 2, 0, 1,
            2, 1, 0, 1, -4, 3,
            -1, 2, 3, 0, 2, -2,
            3, 0, -2, 1, 1, 0,
        ];

        // /usr/bin/python3: numpy.linalg.eigvals(A) for this A, sorted by modulus, real part, imaginary part (descending).
        Complex[] numpy =
        [
            new(1.092332150320971, 4.5314376874009), new(1.092332150320971, -4.5314376874009), new(-4.557557038239689, 0),
            new(4.45550484514297, 0.20306019479301546), new(4.45550484514297, -0.20306019479301546), new(-0.5381169526882076, 0),
        ];
        var ours = GeneralEigen.Eigenvalues(a, 6)
            .OrderByDescending(Complex.Abs).ThenByDescending(v => Math.Round(v.Real, 9)).ThenByDescending(v => v.Imaginary).ToArray();
        for (int i = 0; i < 6; i++)
        {
            AssertComplex(numpy[i], ours[i], 1e-12);
        }
    }

    [Theory]
    [InlineData(0.05)]
    [InlineData(0.15)]
    [InlineData(0.25)]
    [InlineData(0.5)]
    public void Mess3HasOneAndADoubleOneMinusThreeX(double x)
    {
        var spectrum = ProcessSpectrum.Of(BuiltinProcesses.Mess3(x, 0.85));
        Assert.Equal(3, spectrum.Eigenvalues.Length);
        var sorted = spectrum.Eigenvalues.OrderByDescending(v => v.Real).ToArray();
        AssertComplex(1, sorted[0], 1e-12);
        AssertComplex(1 - (3 * x), sorted[1], 1e-12);
        AssertComplex(1 - (3 * x), sorted[2], 1e-12);

        // Two groups; the double eigenvalue is semisimple and holds every shift.
        Assert.Equal(2, spectrum.Groups.Count);
        var lambda = spectrum.Groups.Single(g => g.Kind != EigenvalueKind.Stationary);
        Assert.Equal((2, 2, true), (lambda.AlgebraicMultiplicity, lambda.GeometricMultiplicity, lambda.Relevant));
        Assert.False(spectrum.Groups.Single(g => g.Kind == EigenvalueKind.Stationary).Relevant);
        Assert.Null(spectrum.ExpansionUndefined);

        // One head for 0 < λ < 1, two for λ < 0 (the sign alternates with distance).
        Assert.Equal(x < 1.0 / 3 ? 1 : 2, spectrum.PredictedHeads(10));
    }

    [Fact]
    public void DaysOfWeekHasComplexEigenvaluesAndNeedsMoreThanOneHead()
    {
        var spectrum = ProcessSpectrum.Of(BuiltinProcesses.DaysOfWeek());

        // /usr/bin/python3: numpy.linalg.eigvals of Σx T[x] for days_of_week (rows built as in BuiltinProcesses.DaysOfWeek).
        Complex[] numpy =
        [
            1, new(0.24939592074349348, 0.20848839532480792), new(0.24939592074349348, -0.20848839532480792),
            new(-0.36038754716096755, 0.11570233043134867), new(-0.36038754716096755, -0.11570233043134867),
            new(-0.08900837358252564, 0.25998077658181956), new(-0.08900837358252564, -0.25998077658181956),
        ];
        foreach (var expected in numpy)
        {
            Assert.Contains(spectrum.Eigenvalues, v => Complex.Abs(v - expected) <= 1e-12);
        }

        Assert.Equal(6, spectrum.Groups.Count(g => g.Kind == EigenvalueKind.ComplexPair)); // three conjugate pairs
        Assert.True(spectrum.PredictedHeads(10) > 1);

        // Per complex pair: 2 heads when the rotation stays within a half-turn over the context, else 3.
        var pair = spectrum.Groups.First(g => g.Kind == EigenvalueKind.ComplexPair && g.Relevant);
        double theta = pair.Value.Phase; // arg of the pair's upper member
        Assert.Equal(2, pair.HeadsFor(1));
        Assert.Equal(3, pair.HeadsFor((int)Math.Ceiling(Math.PI / theta) + 1));
        var conjugate = spectrum.Groups.Single(g => Complex.Abs(g.Value - Complex.Conjugate(pair.Value)) < 1e-9);
        Assert.Equal(0, conjugate.HeadsFor(9));
    }

    [Fact]
    public void RrxorEigenvaluesMatchNumpy()
    {
        var spectrum = ProcessSpectrum.Of(BuiltinProcesses.Rrxor());

        // /usr/bin/python3 (numpy 1.24): T = Σx T[x] for rrxor(p1 = p2 = 0.5), states S,0,1,T,F:
        // T[S,0] = T[S,1] = T[0,T] = T[0,F] = T[1,T] = T[1,F] = 0.5, T[T,S] = T[F,S] = 1; numpy.linalg.eigvals(T).
        Complex[] numpy =
        [
            new(-4.9999999999999972e-01, 0.8660254037844384), new(-4.9999999999999972e-01, -0.8660254037844384),
            new(1.0000000000000009, 0), new(4.9303806576313227e-32, 0), new(0, 0),
        ];
        var remaining = spectrum.Eigenvalues.ToList();
        foreach (var expected in numpy)
        {
            int match = remaining.FindIndex(v => Complex.Abs(v - expected) <= 1e-12);
            Assert.True(match >= 0, $"numpy's {expected} has no match within 1e-12 in {string.Join(", ", remaining)}");
            remaining.RemoveAt(match);
        }

        // The zero eigenvalue is semisimple (two eigenvectors), so the expansion exists. One token from π never reveals
        // the period-3 phase (Δ0 = (0, 1/6, −1/6, 0, 0) is orthogonal to the right eigenvectors of ω = e^(2πi/3), which
        // are equal on states 0 and 1), so every shift lies in the λ = 0 eigenspace: the first-order update is the
        // current token alone and predicts no attention heads at all; RRXOR's beliefs need the nonlinear layers.
        var zero = spectrum.Groups.Single(g => g.Kind == EigenvalueKind.Zero);
        Assert.Equal((2, 2, true), (zero.AlgebraicMultiplicity, zero.GeometricMultiplicity, zero.Relevant));
        Assert.Null(spectrum.ExpansionUndefined);
        Assert.All(spectrum.Groups.Where(g => g.Kind == EigenvalueKind.ComplexPair), g => Assert.False(g.Relevant));
        Assert.Equal(0, spectrum.PredictedHeads(10));
    }

    [Fact]
    public void ConstrainedBeliefsAreExactAfterOneToken()
    {
        foreach (var process in new[] { BuiltinProcesses.Mess3(), BuiltinProcesses.Mess3(0.5), BuiltinProcesses.DaysOfWeek(), BuiltinProcesses.Rrxor() })
        {
            var spectrum = ProcessSpectrum.Of(process);
            int s = process.StateCount;
            var tokens = Enumerable.Range(0, process.VocabSize).Where(z => spectrum.Shifts[z] is not null).ToArray();
            var constrained = spectrum.ConstrainedBeliefs(tokens, 1);
            var exact = new double[s];
            for (int q = 0; q < tokens.Length; q++)
            {
                BeliefMath.Update(process, process.InitialBelief, tokens[q], exact);
                for (int i = 0; i < s; i++)
                {
                    Assert.Equal(exact[i], constrained[(q * s) + i], 12);
                }
            }
        }
    }

    [Fact]
    public void Mess3ConstrainedBeliefAtDepthTwoMatchesTheHandComputation()
    {
        // Mess3(x, α): π = (1/3, 1/3, 1/3) and η⁽ᶻ⁾ has α at z and β = (1 − α)/2 elsewhere (πT[z] has column sums α or β
        // times (1 − 2x) + 2x = 1, over P(z) = 1/3). With λ = 1 − 3x: η2 = π + λ Δ(z1) + Δ(z2).
        const double x = 0.05, alpha = 0.85, beta = (1 - alpha) / 2, lambda = 1 - (3 * x), third = 1.0 / 3;
        var spectrum = ProcessSpectrum.Of(BuiltinProcesses.Mess3(x, alpha));
        var beliefs = spectrum.ConstrainedBeliefs([0, 1, 2, 2], 2); // sequences (A, B) and (C, C)
        double[] ab = [third + (lambda * (alpha - third)) + (beta - third), third + (lambda * (beta - third)) + (alpha - third), third + (lambda * (beta - third)) + (beta - third)];
        double[] cc = [third + ((lambda + 1) * (beta - third)), third + ((lambda + 1) * (beta - third)), third + ((lambda + 1) * (alpha - third))];
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(ab[i], beliefs[3 + i], 12); // row 1: after both tokens of sequence 0
            Assert.Equal(cc[i], beliefs[9 + i], 12); // row 3: after both tokens of sequence 1
        }

        // 1/3 + 1.85 · (0.075 − 1/3): after C, C the constrained belief leaves the simplex (the exact one cannot).
        Assert.Equal(-0.14458333333333334, beliefs[9], 12);

        // Softmax-normalised: a head's weights λⁿ over 2 keys sum to 1 + λ, so η2 = π + (λ Δ(z1) + Δ(z2)) / (1 + λ).
        var normalised = spectrum.ConstrainedBeliefs([0, 1, 2, 2], 2, softmaxNormalised: true);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(third + ((ab[i] - third) / (1 + lambda)), normalised[3 + i], 12);
            Assert.Equal(third + ((cc[i] - third) / (1 + lambda)), normalised[9 + i], 12);
            Assert.Equal(beliefs[i], normalised[i], 12); // d = 1: both are the exact belief
        }
    }

    [Fact]
    public void ConstrainedBeliefsEqualShiftsPropagatedByMatrixPowers()
    {
        // Independent route: π + Σs Δ(zs) T^(d−s) by repeated vector–matrix products, no eigenvectors.
        var process = BuiltinProcesses.DaysOfWeek();
        var spectrum = ProcessSpectrum.Of(process);
        int s = process.StateCount, v = process.VocabSize;
        int[] sequence = [3, 7, 10, 0, 9, 8, 4];
        var beliefs = spectrum.ConstrainedBeliefs(sequence, sequence.Length);
        var net = new double[s * s];
        for (int t = 0; t < v * s * s; t++)
        {
            net[t % (s * s)] += process.Transitions[t];
        }

        var sum = new double[s];
        for (int d = 0; d < sequence.Length; d++)
        {
            var propagated = new double[s];
            for (int j = 0; j < s; j++)
            {
                for (int i = 0; i < s; i++)
                {
                    propagated[j] += sum[i] * net[(i * s) + j];
                }
            }

            sum = propagated.Select((p, i) => p + spectrum.Shifts[sequence[d]]![i]).ToArray();
            for (int i = 0; i < s; i++)
            {
                Assert.Equal(process.InitialBelief[i] + sum[i], beliefs[(d * s) + i], 12);
            }
        }
    }

    [Fact]
    public void DefectiveSpectrumSaysTheExpansionIsUndefined()
    {
        // A companion matrix is never diagonalisable with a repeated eigenvalue: rows (0 1 0), (0 0 1), (1/16 7/16 1/2)
        // have characteristic polynomial (t − 1)(t + 1/4)², one eigenvector for −1/4. Token = next state, so
        // η⁽ᶻ⁾ = e_z and the shifts span the 2-D plane Σ = 0, which one eigenvector cannot.
        double[][] net = [[0, 1, 0], [0, 0, 1], [1.0 / 16, 7.0 / 16, 0.5]];
        var t = Enumerable.Range(0, 3).Select(x => Enumerable.Range(0, 3).Select(i => Enumerable.Range(0, 3).Select(j => j == x ? net[i][j] : 0).ToArray()).ToArray()).ToArray();
        var spectrum = ProcessSpectrum.Of(Process.Create("companion", ProcessKind.Hmm, t));
        var group = spectrum.Groups.Single(g => g.Kind == EigenvalueKind.NegativeReal);
        AssertComplex(-0.25, group.Value, 1e-7);
        Assert.Equal((2, 1), (group.AlgebraicMultiplicity, group.GeometricMultiplicity));
        Assert.NotNull(spectrum.ExpansionUndefined);
        Assert.DoesNotContain('\n', spectrum.ExpansionUndefined);
        Assert.Contains("defective at λ = -0.25", spectrum.ExpansionUndefined, StringComparison.Ordinal);
        var error = Assert.Throws<BeliefLensInputException>(() => spectrum.ConstrainedBeliefs([0, 1], 2));
        Assert.Equal(spectrum.ExpansionUndefined, error.Message);
    }
}
