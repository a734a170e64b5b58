using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

/// <summary>
/// The encoding directions against activations built from known directions: a = ηG + z·N + c, where z is a nuisance
/// that the probe must cancel. The slope recovers G on belief differences, the encoding edit makes the probe read
/// the target along G alone, and with a nuisance that overlaps G the probe's own edit leaves G's coordinates short.
/// </summary>
public sealed class BeliefEncodingTests
{
    private const int States = 3;
    private const int Width = 5;

    private static readonly double[][] Encoding = [[1.0, 0.5, 0.0, 0.0, 0.2], [0.0, 1.0, -0.5, 0.3, 0.0], [0.4, 0.0, 1.0, 0.0, -0.3]];
    private static readonly double[] Nuisance = [0.6, 0.0, 0.0, 1.0, 0.0]; // overlaps G's first coordinate
    private static readonly double[] Offset = [2.0, -1.0, 0.5, 0.0, 3.0];

    private static (FeatureMatrix Activations, DenseMatrix Beliefs) Data(int rows, double nuisanceScale, ulong seed)
    {
        var rng = new Rng(seed);
        var activations = new double[rows * Width];
        var beliefs = new double[rows * States];
        for (int r = 0; r < rows; r++)
        {
            var eta = new double[States];
            for (int s = 0; s < States; s++)
            {
                eta[s] = -Math.Log(1 - rng.NextDouble()); // Dirichlet(1, 1, 1): uniform on the simplex
            }

            double total = eta.Sum();
            double z = nuisanceScale * rng.NextGaussian();
            for (int s = 0; s < States; s++)
            {
                beliefs[(r * States) + s] = eta[s] / total;
            }

            for (int i = 0; i < Width; i++)
            {
                double a = Offset[i] + (z * Nuisance[i]);
                for (int s = 0; s < States; s++)
                {
                    a += beliefs[(r * States) + s] * Encoding[s][i];
                }

                activations[(r * Width) + i] = a;
            }
        }

        return (FeatureMatrix.FromDouble(activations, rows, Width), new DenseMatrix(beliefs, rows, States));
    }

    private static double[] Times(double[] eta, double[][] rows) =>
        Enumerable.Range(0, Width).Select(i => Enumerable.Range(0, States).Sum(s => eta[s] * rows[s][i])).ToArray();

    [Fact]
    public void TheSlopeReproducesEveryBeliefDifferenceWhenTheNuisanceIsIndependent()
    {
        var (activations, beliefs) = Data(4000, 0, seed: 1);
        var encoding = BeliefEncoding.Fit(activations, beliefs);
        var probe = BeliefSubspace.FromFit(AffineLeastSquares.Fit(activations, beliefs));

        // Noise-free: the probe reads exactly, and the encoding edit from A to B is B's activation minus A's.
        double[] etaA = [0.7, 0.2, 0.1], etaB = [0.1, 0.3, 0.6];
        var a = Times(etaA, Encoding).Zip(Offset, (x, c) => x + c).ToArray();
        var expected = Times(etaB.Zip(etaA, (x, y) => x - y).ToArray(), Encoding);
        var edit = encoding.EditTowards(probe, a, etaB);
        Assert.All(edit.Zip(expected), e => Assert.Equal(e.Second, e.First, 9));

        // Without a nuisance the probe's row space is G's span, so its own least-norm edit is the same one.
        var probeEdit = probe.EditTowards(a, etaB);
        Assert.All(probeEdit.Zip(expected), e => Assert.Equal(e.Second, e.First, 9));
    }

    [Fact]
    public void TheEncodingEditReadsTheTargetAndDiffersFromTheProbesWhenANuisanceOverlapsTheEncoding()
    {
        var (activations, beliefs) = Data(40_000, 1.5, seed: 2);
        var encoding = BeliefEncoding.Fit(activations, beliefs);
        var probe = BeliefSubspace.FromFit(AffineLeastSquares.Fit(activations, beliefs));
        double[] etaA = [0.6, 0.3, 0.1], etaB = [0.2, 0.2, 0.6];
        var a = Times(etaA, Encoding).Zip(Offset, (x, c) => x + c).ToArray();

        var edit = encoding.EditTowards(probe, a, etaB);
        var reading = probe.Read(a.Zip(edit, (x, d) => x + d).ToArray());
        Assert.All(reading.Zip(etaB), r => Assert.Equal(r.Second, r.First, 9));

        // The nuisance is independent of η, so the slope still moves along G: the edit is B − A's encoding, to sampling error.
        var expected = Times(etaB.Zip(etaA, (x, y) => x - y).ToArray(), Encoding);
        Assert.All(edit.Zip(expected), e => Assert.InRange(e.First - e.Second, -0.05, 0.05));

        // The probe cancels the nuisance, so its least-norm edit is shorter than the encoding edit and points elsewhere.
        var probeEdit = probe.EditTowards(a, etaB);
        Assert.True(BeliefSubspace.Norm(probeEdit) < BeliefSubspace.Norm(edit), $"{BeliefSubspace.Norm(probeEdit)} vs {BeliefSubspace.Norm(edit)}");
        double cosine = probeEdit.Zip(edit, (x, y) => x * y).Sum() / (BeliefSubspace.Norm(probeEdit) * BeliefSubspace.Norm(edit));
        Assert.InRange(cosine, -0.99, 0.99);
    }

    [Fact]
    public void MismatchedRowsAndSitesAreRefused()
    {
        var (activations, beliefs) = Data(50, 0, seed: 3);
        var (_, fewer) = Data(40, 0, seed: 3);
        Assert.Throws<BeliefLensInputException>(() => BeliefEncoding.Fit(activations, fewer));
        var encoding = BeliefEncoding.Fit(activations, beliefs);
        var other = new BeliefSubspace(new double[4 * States], new double[States], 4);
        Assert.Throws<BeliefLensInputException>(() => encoding.EditTowards(other, new double[4], [0.2, 0.3, 0.5]));
    }
}
