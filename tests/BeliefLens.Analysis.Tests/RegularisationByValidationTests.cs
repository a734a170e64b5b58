using BeliefLens.Core;
using BeliefLens.Analysis;

namespace BeliefLens.Analysis.Tests;

/// <summary>Regularisation of the held-out fit chosen by validation on the fit sequences only (the concat site's protocol).</summary>
public sealed class RegularisationByValidationTests
{
    /// <summary>
    /// 300 sequences × 2 positions, every row its own prefix. Features: two nearly identical copies (1e-6 apart) of a
    /// 16-dim random mixing of a 3-dim latent, plus 16 pure-noise columns: 48 collinear columns, as in a concatenation
    /// of layers. Targets: an affine function of the latent plus noise. A fit on 20% of the sequences (120 rows) then
    /// overfits the noise columns without regularisation.
    /// </summary>
    private static ActivationDataset Collinear()
    {
        var rng = new Rng(21);
        int sequences = 300, length = 2, n = sequences * length, latent = 3, width = 16, d = 3 * width, k = 2;
        var mixing = Enumerable.Range(0, latent * width).Select(_ => rng.NextGaussian()).ToArray();
        var x = new double[n * d];
        var y = new double[n * k];
        for (int r = 0; r < n; r++)
        {
            var z = Enumerable.Range(0, latent).Select(_ => rng.NextGaussian()).ToArray();
            for (int c = 0; c < width; c++)
            {
                double v = Enumerable.Range(0, latent).Sum(l => z[l] * mixing[l * width + c]);
                x[r * d + c] = v;
                x[r * d + width + c] = v + 1e-6 * rng.NextGaussian();
                x[r * d + 2 * width + c] = rng.NextGaussian();
            }

            y[r * k] = 0.3 + 0.2 * z[0] - 0.1 * z[1] + 0.3 * rng.NextGaussian();
            y[r * k + 1] = -0.1 + 0.15 * z[2] + 0.3 * rng.NextGaussian();
        }

        var seq = Enumerable.Range(0, n).Select(r => r / length).ToArray();
        var pos = Enumerable.Range(0, n).Select(r => r % length).ToArray();
        var prefix = Enumerable.Range(0, n).Select(r => (long)r).ToArray();
        return new ActivationDataset(FeatureMatrix.FromDouble(x, n, d), new DenseMatrix(y, n, k), seq, pos, prefix, Enumerable.Repeat(0.01, n).ToArray());
    }

    [Fact]
    public void ChosenRegularisationBeatsTheFixedCutoffHeldOutAndLeavesInSampleAlone()
    {
        var data = Collinear();
        var fixedCutoff = ProbeEvaluator.Evaluate(data, ProbeWeighting.Paper, seed: 5);
        var chosen = ProbeEvaluator.Evaluate(data, ProbeWeighting.Paper, seed: 5, chooseRegularisation: true);

        Assert.Null(fixedCutoff.Regularisation);
        var choice = chosen.Regularisation!;
        Assert.True(choice.Best.Ridge > 0 || choice.Best.Rcond > AffineFitOptions.DefaultRcond); // it did regularise
        Assert.Equal(choice.Candidates.Min(c => c.ValidationMse), choice.BestValidationMse);
        Assert.True(chosen.HeldOut.Mse < 0.9 * fixedCutoff.HeldOut.Mse, $"{chosen.HeldOut.Mse} vs {fixedCutoff.HeldOut.Mse}");
        Assert.Equal(fixedCutoff.InSample.Mse, chosen.InSample.Mse); // in-sample keeps the default cutoff
        Assert.Equal(fixedCutoff.Shuffled.Mse, chosen.Shuffled.Mse);
    }

    [Fact]
    public void ChoiceUsesOnlyTheFitSequences()
    {
        var data = Collinear();
        var sample = data.Sample(ProbeWeighting.Paper);
        var split = ProbeSplits.BySequence(data, sample, 0.2, 5);
        var choice = ProbeEvaluator.ChooseRegularisation(data, data.Targets, null, split.FitRows, 5);

        // Scramble every target of the test sequences: the choice must not move.
        var scrambled = (double[])data.Targets.Data.Clone();
        foreach (int r in split.TestRows)
        {
            scrambled[r * 2] = 100 + r;
            scrambled[r * 2 + 1] = -r;
        }

        var again = ProbeEvaluator.ChooseRegularisation(data, new DenseMatrix(scrambled, data.Rows, 2), null, split.FitRows, 5);
        Assert.Equal(choice.Best, again.Best);
        Assert.Equal(choice.BestValidationMse, again.BestValidationMse);
        Assert.Equal(120, split.FitRows.Length);
    }

    [Fact]
    public void RidgeCarriesOverPerUnitWeight()
    {
        var choice = new RegularisationChoice(new AffineFitOptions(ridge: 6, rcond: 1e-7), 0.1, []) { FitWeightTotal = 30 };
        Assert.Equal(8, choice.For(40).Ridge, 12); // same λ/W: 6/30 = 8/40
        Assert.Equal(1e-7, choice.For(40).Rcond);
        var cutoff = new RegularisationChoice(new AffineFitOptions(0, 1e-3), 0.1, []) { FitWeightTotal = 30 };
        Assert.Same(cutoff.Best, cutoff.For(40));
    }
}
