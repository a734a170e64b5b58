using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// The belief probes of a product process from one site: onto the factored beliefs (every factor's marginal,
/// concatenated: Σ S_i targets) and onto the joint belief (Π S_i targets), and onto each factor alone.
/// </summary>
public sealed record FactoredProbe(ProbeEvaluation Factored, ProbeEvaluation Joint, IReadOnlyList<ProbeEvaluation> PerFactor);

/// <summary>One factor's share of the activation geometry, from vary-one activations (<see cref="FactoredAnalysis.VaryOneSpectrum"/>).</summary>
/// <param name="Cumulative">Cumulative explained variance of the factor-induced variation, per principal component.</param>
/// <param name="DimsAt95">Components needed to reach 95% of it.</param>
/// <param name="Axes">Principal axes, flat [d][d], row k the k-th axis.</param>
public sealed record FactorSubspace(double[] Cumulative, int DimsAt95, double[] Axes, int Dimension);

/// <summary>
/// Torch-free analyses of product processes: factored versus joint belief probes, per-factor explained variance
/// (dims@95) and the normalised overlap of factor subspaces, <c>‖V1[:k] V2[:k]ᵀ‖²_F / k</c>, whose value for
/// independent random k-dimensional subspaces of ℝ^d is k/d.
/// </summary>
public static class FactoredAnalysis
{
    /// <summary>Every row's factor marginals (see <see cref="CompositeStructure.PartBelief"/>), one matrix per factor.</summary>
    public static DenseMatrix[] FactorBeliefs(DenseMatrix jointBeliefs, Process process)
    {
        ArgumentNullException.ThrowIfNull(jointBeliefs);
        ArgumentNullException.ThrowIfNull(process);
        var composite = process.Composite is { Kind: CompositeKind.Product } c
            ? c
            : throw new BeliefLensInputException($"process: {process.Name} is not a product; factored analyses need \"type\": \"product\".");
        var result = new DenseMatrix[composite.PartCount];
        for (int f = 0; f < composite.PartCount; f++)
        {
            int s = composite.Parts[f].StateCount;
            var data = new double[jointBeliefs.Rows * s];
            for (int r = 0; r < jointBeliefs.Rows; r++)
            {
                composite.PartBelief(jointBeliefs.Row(r), process.Tau, f).CopyTo(data, r * s);
            }

            result[f] = new DenseMatrix(data, jointBeliefs.Rows, s);
        }

        return result;
    }

    /// <summary>Columns side by side.</summary>
    public static DenseMatrix Concatenate(IReadOnlyList<DenseMatrix> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        int rows = parts[0].Rows, cols = parts.Sum(p => p.Cols);
        var data = new double[rows * cols];
        for (int r = 0; r < rows; r++)
        {
            int offset = 0;
            foreach (var part in parts)
            {
                part.Row(r).CopyTo(data.AsSpan((r * cols) + offset, part.Cols));
                offset += part.Cols;
            }
        }

        return new DenseMatrix(data, rows, cols);
    }

    /// <summary>The paper's probe protocol (<see cref="ProbeEvaluator.Evaluate"/>) onto factored, joint and per-factor beliefs.</summary>
    public static FactoredProbe Evaluate(FeatureMatrix features, ProbeInputs inputs, ProbeWeighting weighting, ulong seed = 0, double fitFraction = 0.2, AffineFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(inputs);
        var factors = FactorBeliefs(inputs.Beliefs, inputs.Process);
        var dataset = new ActivationDataset(features, inputs.Beliefs, inputs.SequenceIds(), inputs.Positions(), inputs.PrefixIds, inputs.PrefixProbabilities);
        var joint = ProbeEvaluator.Evaluate(dataset, weighting, seed, fitFraction, options);
        var factored = ProbeEvaluator.Evaluate(dataset.WithTargets(Concatenate(factors)), weighting, seed, fitFraction, options);
        var perFactor = factors.Select(f => ProbeEvaluator.Evaluate(dataset.WithTargets(f), weighting, seed, fitFraction, options)).ToArray();
        return new FactoredProbe(factored, joint, perFactor);
    }

    /// <summary>
    /// One factor's subspace from vary-one activations: rows grouped so that within a group only that factor's tokens
    /// vary (<paramref name="group"/>[r]); each group is centred on its own mean, so what remains is the variation the
    /// factor causes, whose PCA gives the factor's cumulative explained variance and principal axes.
    /// </summary>
    public static FactorSubspace VaryOneSpectrum(double[] activations, int dimension, int[] group)
    {
        ArgumentNullException.ThrowIfNull(activations);
        ArgumentNullException.ThrowIfNull(group);
        int rows = activations.Length / dimension;
        if (group.Length != rows)
        {
            throw new BeliefLensInputException($"group: {group.Length} entries for {rows} activation rows; give one group per row.");
        }

        int groups = group.Max() + 1;
        var mean = new double[groups * dimension];
        var count = new int[groups];
        for (int r = 0; r < rows; r++)
        {
            count[group[r]]++;
            for (int j = 0; j < dimension; j++)
            {
                mean[(group[r] * dimension) + j] += activations[(r * dimension) + j];
            }
        }

        var centred = new double[activations.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < dimension; j++)
            {
                centred[(r * dimension) + j] = activations[(r * dimension) + j] - (mean[(group[r] * dimension) + j] / count[group[r]]);
            }
        }

        var pca = Pca.Fit(centred, dimension);
        return new FactorSubspace(pca.Spectrum.Cumulative, pca.Spectrum.For95, pca.Components, dimension);
    }

    /// <summary>
    /// <c>‖V1[:k] V2[:k]ᵀ‖²_F / k</c> for k = 1..<paramref name="maxK"/>, from two flat [d][d] axis matrices (rows are unit
    /// axes): 1 for identical subspaces, 0 for orthogonal ones, k/d on average for random ones.
    /// </summary>
    public static double[] SubspaceOverlap(double[] axes1, double[] axes2, int dimension, int maxK)
    {
        ArgumentNullException.ThrowIfNull(axes1);
        ArgumentNullException.ThrowIfNull(axes2);
        maxK = Math.Min(maxK, dimension);
        var result = new double[maxK];
        for (int k = 1; k <= maxK; k++)
        {
            double sum = 0;
            for (int a = 0; a < k; a++)
            {
                for (int b = 0; b < k; b++)
                {
                    double dot = 0;
                    for (int j = 0; j < dimension; j++)
                    {
                        dot += axes1[(a * dimension) + j] * axes2[(b * dimension) + j];
                    }

                    sum += dot * dot;
                }
            }

            result[k - 1] = sum / k;
        }

        return result;
    }

    /// <summary>The expected overlap of independent uniformly random k-dimensional subspaces of ℝ^d: k/d.</summary>
    public static double RandomOverlap(int k, int dimension) => (double)k / dimension;

    /// <summary>Components needed to reach 95% of the variance of activation rows (the plain PCA of the site).</summary>
    public static int DimsAt95(double[] activations, int dimension) => Pca.Fit(activations, dimension).Spectrum.For95;

    /// <summary>Least-squares slope of <paramref name="y"/> against <paramref name="x"/> (e.g. dims@95 against step).</summary>
    public static double Slope(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count || x.Count < 2)
        {
            throw new BeliefLensInputException("slope: needs at least two (x, y) points of equal count.");
        }

        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0;
        for (int i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
        }

        return sxx > 0 ? sxy / sxx : 0;
    }
}
