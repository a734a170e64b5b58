using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>In-sample, held-out and shuffled-target results of one probe on one site.</summary>
public sealed record ProbeEvaluation(
    RegressionMetrics InSample,
    RegressionMetrics HeldOut,
    RegressionMetrics Shuffled,
    AffineFit Fit,
    int FitSequences,
    int TestRows,
    string? Warning)
{
    /// <summary>When the held-out fit's regularisation was chosen by validation: the choice (else null, and the fixed options were used).</summary>
    public RegularisationChoice? Regularisation { get; init; }

    /// <summary>The options the held-out fit used.</summary>
    public AffineFitOptions? HeldOutOptions { get; init; }
}

public static class ProbeEvaluator
{
    /// <summary>
    /// The paper's protocol on one dataset: fit on all sampled rows and score in-sample; fit on a seeded
    /// <paramref name="fitFraction"/> of sequences and score the rest (held-out); shuffled-target control in-sample.
    /// <para>With <paramref name="chooseRegularisation"/>, the held-out fit's ridge/cutoff is chosen by
    /// <see cref="AffineLeastSquares.ChooseByValidation"/> using only the fit sequences (split again by sequence,
    /// <see cref="ValidationFitFraction"/> fitted, the rest validated), then refitted on all fit sequences; the test
    /// sequences are never seen. In-sample and shuffle fits keep <paramref name="options"/>.</para>
    /// </summary>
    public static ProbeEvaluation Evaluate(ActivationDataset dataset, ProbeWeighting weighting, ulong seed = 0, double fitFraction = 0.2, AffineFitOptions? options = null,
        bool chooseRegularisation = false)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var sample = dataset.Sample(weighting);
        var x = dataset.Features;
        var y = dataset.Targets;
        var fit = Fit(dataset, y, sample.Weights, sample.Rows, options);
        var inSample = RegressionMetrics.Score(fit, x, y, sample.Weights, sample.Rows);
        var split = ProbeSplits.BySequence(dataset, sample, fitFraction, seed);
        RegularisationChoice? choice = null;
        var heldOptions = options ?? AffineFitOptions.Default;
        if (chooseRegularisation)
        {
            choice = ChooseRegularisation(dataset, y, sample.Weights, split.FitRows, seed);
            heldOptions = choice.For(split.FitRows.Sum(r => sample.Weights?[r] ?? 1.0));
        }

        var heldFit = Fit(dataset, y, sample.Weights, split.FitRows, heldOptions);
        var heldOut = RegressionMetrics.Score(heldFit, x, y, sample.Weights, split.TestRows);
        var shuffled = ProbeControls.ShuffledTargets(dataset, sample, seed ^ 0x5DEECE66DUL, options);
        int fitSequences = split.FitRows.Select(r => dataset.SequenceIds[r]).Distinct().Count();
        return new ProbeEvaluation(inSample, heldOut, shuffled, fit, fitSequences, split.TestRows.Length, fit.Warning ?? heldFit.Warning)
        {
            Regularisation = choice,
            HeldOutOptions = heldOptions,
        };
    }

    /// <summary>Fraction of the fit sequences fitted (the rest validated) when choosing regularisation.</summary>
    public const double ValidationFitFraction = 0.8;

    /// <summary>
    /// Chooses ridge/cutoff among <see cref="AffineLeastSquares.DefaultCandidates"/> on <paramref name="fitRows"/> only:
    /// their sequences are split again by sequence (seeded), candidates fitted on <see cref="ValidationFitFraction"/> of
    /// them (rows of one prefix merged) and scored on every row of the rest.
    /// </summary>
    public static RegularisationChoice ChooseRegularisation(ActivationDataset dataset, DenseMatrix targets, double[]? weights, int[] fitRows, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(fitRows);
        var inner = ProbeSplits.BySequence(dataset, new ProbeSample(fitRows, weights), ValidationFitFraction, seed ^ 0x7A11DA7EUL);
        if (inner.TestRows.Length == 0)
        {
            throw new BeliefLensInputException("regularisation: the fit rows come from a single sequence, so none is left to validate on; use more sequences or fix the ridge/rcond.");
        }

        var merged = dataset.Collapse(inner.FitRows, weights);
        return AffineLeastSquares.ChooseByValidation(dataset.Features, merged?.Targets(targets) ?? targets, merged?.Weights ?? weights,
            merged?.Rows ?? inner.FitRows, weights, inner.TestRows);
    }

    /// <summary>
    /// <see cref="AffineLeastSquares.Fit"/> of <paramref name="targets"/> on the dataset's features over
    /// <paramref name="rows"/>, with rows that share a prefix merged first when the features allow it
    /// (<see cref="ActivationDataset.Collapse"/>): the same solution from far fewer rows.
    /// </summary>
    public static AffineFit Fit(ActivationDataset dataset, DenseMatrix targets, double[]? weights, int[] rows, AffineFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(rows);
        ProbeValidation.CheckDesign(dataset.Features, targets, weights, rows);
        var collapsed = dataset.Collapse(rows, weights);
        return collapsed is null
            ? AffineLeastSquares.Fit(dataset.Features, targets, weights, rows, options)
            : AffineLeastSquares.Fit(dataset.Features, collapsed.Targets(targets), collapsed.Weights, collapsed.Rows, options);
    }

    /// <summary>K-fold by sequence: out-of-fold predictions for every sampled row, scored together (pooled SSE/SST).</summary>
    public static RegressionMetrics CrossValidate(ActivationDataset dataset, ProbeWeighting weighting, int folds, ulong seed = 0, AffineFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        var sample = dataset.Sample(weighting);
        var splits = ProbeSplits.KFoldBySequence(dataset, sample, folds, seed);
        int k = dataset.Targets.Cols;
        var predictedRows = new List<int>();
        var predicted = new List<double>();
        foreach (var split in splits)
        {
            var fit = Fit(dataset, dataset.Targets, sample.Weights, split.FitRows, options);
            predicted.AddRange(fit.Predict(dataset.Features, split.TestRows).Data);
            predictedRows.AddRange(split.TestRows);
        }

        var rows = predictedRows.ToArray();
        double[]? weights = sample.Weights is null ? null : rows.Select(r => sample.Weights[r]).ToArray();
        return RegressionMetrics.Compute(new DenseMatrix(predicted.ToArray(), rows.Length, k), dataset.Targets.SelectRows(rows), weights);
    }
}
