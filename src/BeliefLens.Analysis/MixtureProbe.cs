using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>A mixture's beliefs split into which component generated the sequence and the belief within each component.</summary>
/// <param name="ComponentPosterior">[rows, components]: the posterior mass of each component (its block of the belief summed).</param>
/// <param name="WithinComponent">[rows, states]: each component's block renormalised to sum to 1 (all 0 where the component has no mass).</param>
public sealed record MixtureBeliefs(DenseMatrix ComponentPosterior, DenseMatrix WithinComponent)
{
    public int Components => ComponentPosterior.Cols;
}

/// <summary>The two probes of a non-ergodic mixture from one site: component identity and within-component belief.</summary>
public sealed record MixtureProbe(int Components, ProbeEvaluation ComponentIdentity, ProbeEvaluation WithinComponentBelief);

/// <summary>Probes for processes built by <see cref="ProcessBuilders.Mixture"/>.</summary>
public static class MixtureProbes
{
    /// <summary>
    /// Splits beliefs over a mixture's states (<paramref name="componentOfState"/>[i] = component of state i, as
    /// <see cref="ProcessBuilders.ComponentOfStates"/> gives) into the component posterior and the within-component beliefs.
    /// </summary>
    public static MixtureBeliefs Split(DenseMatrix beliefs, int[] componentOfState)
    {
        ArgumentNullException.ThrowIfNull(beliefs);
        ArgumentNullException.ThrowIfNull(componentOfState);
        int states = beliefs.Cols;
        if (componentOfState.Length != states)
        {
            throw new BeliefLensInputException($"componentOfState: {componentOfState.Length} entries for beliefs over {states} states; give one component per state.");
        }

        if (componentOfState.Any(c => c < 0))
        {
            throw new BeliefLensInputException("componentOfState: component indices must be >= 0.");
        }

        int rows = beliefs.Rows;
        int count = componentOfState.Max() + 1;
        var mass = new double[rows * count];
        var within = new double[rows * states];
        for (int r = 0; r < rows; r++)
        {
            var belief = beliefs.Row(r);
            for (int i = 0; i < states; i++)
            {
                mass[(r * count) + componentOfState[i]] += belief[i];
            }

            for (int i = 0; i < states; i++)
            {
                double m = mass[(r * count) + componentOfState[i]];
                within[(r * states) + i] = m > 0 ? belief[i] / m : 0;
            }
        }

        return new MixtureBeliefs(new DenseMatrix(mass, rows, count), new DenseMatrix(within, rows, states));
    }

    /// <summary>
    /// The paper's protocol (<see cref="ProbeEvaluator.Evaluate"/>) from <paramref name="features"/> (one row per row of
    /// <paramref name="inputs"/>) to the component posterior and to the within-component beliefs of the exact beliefs.
    /// </summary>
    public static MixtureProbe Evaluate(FeatureMatrix features, ProbeInputs inputs, int[] componentOfState, ProbeWeighting weighting,
        ulong seed = 0, double fitFraction = 0.2, AffineFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(inputs);
        if (features.Rows != inputs.Rows)
        {
            throw new BeliefLensInputException($"features: {features.Rows} rows for {inputs.Rows} input rows; give one activation row per (sequence, position).");
        }

        var split = Split(inputs.Beliefs, componentOfState);
        var dataset = new ActivationDataset(features, split.ComponentPosterior, inputs.SequenceIds(), inputs.Positions(), inputs.PrefixIds, inputs.PrefixProbabilities);
        var identity = ProbeEvaluator.Evaluate(dataset, weighting, seed, fitFraction, options);
        var within = ProbeEvaluator.Evaluate(dataset.WithTargets(split.WithinComponent), weighting, seed, fitFraction, options);
        return new MixtureProbe(split.Components, identity, within);
    }
}
