using BeliefLens.Core;

namespace BeliefLens.Analysis.Tests;

public sealed class MixtureProbeTests
{
    [Fact]
    public void SplitGivesComponentMassAndRenormalisedBlocks()
    {
        // States 0,1 in component 0; states 2,3,4 in component 1; second row has no mass on component 0.
        var beliefs = new DenseMatrix([0.1, 0.3, 0.2, 0.2, 0.2, 0, 0, 0.5, 0.25, 0.25], 2, 5);
        var split = MixtureProbes.Split(beliefs, [0, 0, 1, 1, 1]);
        Assert.Equal(2, split.Components);
        Assert.Equal(new[] { 0.4, 0.6, 0, 1 }, split.ComponentPosterior.Data.Select(v => Math.Round(v, 15)));
        double[] expected = [0.25, 0.75, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0.5, 0.25, 0.25];
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], split.WithinComponent.Data[i], 15);
        }
    }

    [Fact]
    public void AComponentListOfTheWrongLengthIsAnInputError()
    {
        var error = Assert.Throws<BeliefLensInputException>(() => MixtureProbes.Split(new DenseMatrix([0.5, 0.5], 1, 2), [0, 0, 1]));
        Assert.StartsWith("componentOfState:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ComponentIdentityIsExactlyLinearInTheBeliefs()
    {
        // With the beliefs themselves as features, the component posterior (a sum over each block) is an exact
        // linear function: held-out R² 1. The within-component belief is a ratio, not linear: R² below 1.
        var process = BuiltinProcesses.Create("mess3_mixture");
        int[] components = ProcessBuilders.ComponentOfStates(process)!;
        var inputs = ProbeInputs.Build(process, 4);
        var features = FeatureMatrix.FromDouble(inputs.Beliefs.Data, inputs.Rows, process.StateCount);
        var probe = MixtureProbes.Evaluate(features, inputs, components, ProbeWeighting.Paper, seed: 1);
        Assert.Equal(components.Max() + 1, probe.Components);
        Assert.Equal(1.0, probe.ComponentIdentity.HeldOut.R2, 9);
        Assert.True(probe.ComponentIdentity.HeldOut.Mse < 1e-18, $"identity MSE {probe.ComponentIdentity.HeldOut.Mse}");
        Assert.True(probe.WithinComponentBelief.HeldOut.R2 < 0.999, $"within R² {probe.WithinComponentBelief.HeldOut.R2}");
        Assert.True(probe.WithinComponentBelief.HeldOut.Mse < probe.WithinComponentBelief.Shuffled.Mse);
    }
}
