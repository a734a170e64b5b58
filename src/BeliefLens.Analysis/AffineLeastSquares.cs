using System.Globalization;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// Regularisation of an affine least-squares fit.
/// <para><see cref="Rcond"/>: SVD-style cutoff. Directions of the centred, √w-scaled design whose singular value
/// is at most Rcond × the largest are dropped (the minimum-norm solution on the rest). Default 1e-6, as the issue
/// recommends for collinear concatenated sites. Because singular values come from the Gram matrix (s = √λ), values
/// below about 1e-7 of the largest cannot be resolved in float64, so smaller cutoffs act like 1e-7.</para>
/// <para><see cref="Ridge"/>: penalty λ‖B‖² on the coefficients (not the intercept), in the units of the Gram
/// matrix Σ w (x−μ)(x−μ)ᵀ; 0 means none.</para>
/// </summary>
public sealed record AffineFitOptions
{
    public AffineFitOptions(double ridge = 0, double rcond = DefaultRcond, int maxDegreeOfParallelism = 0)
    {
        if (!double.IsFinite(ridge) || ridge < 0)
        {
            throw new BeliefLensInputException($"ridge: {ridge.ToString(CultureInfo.InvariantCulture)} is invalid; use a finite value >= 0 (0 = no ridge).");
        }

        if (!double.IsFinite(rcond) || rcond < 0 || rcond >= 1)
        {
            throw new BeliefLensInputException($"rcond: {rcond.ToString(CultureInfo.InvariantCulture)} is invalid; use a value in [0, 1), e.g. 1e-6.");
        }

        if (maxDegreeOfParallelism < 0)
        {
            throw new BeliefLensInputException("max_parallelism: must be >= 0 (0 = all cores).");
        }

        (Ridge, Rcond, MaxDegreeOfParallelism) = (ridge, rcond, maxDegreeOfParallelism);
    }

    public const double DefaultRcond = 1e-6;

    /// <summary>Smallest relative singular value the Gram-matrix route resolves in float64.</summary>
    public const double MinimumResolvableRcond = 1e-7;

    public static AffineFitOptions Default { get; } = new();

    public double Ridge { get; }

    public double Rcond { get; }

    public int MaxDegreeOfParallelism { get; }
}

/// <summary>A fitted affine map ŷ = x·B + b (B is [Features][Targets] row-major).</summary>
public sealed class AffineFit
{
    internal AffineFit(double[] coefficients, double[] intercept, int features, int targets, int effectiveRank,
        double[] singularValues, double ridge, double rcond, double weightTotal, int rows, string? warning)
    {
        Coefficients = coefficients;
        Intercept = intercept;
        Features = features;
        Targets = targets;
        EffectiveRank = effectiveRank;
        SingularValues = singularValues;
        Ridge = ridge;
        Rcond = rcond;
        WeightTotal = weightTotal;
        Rows = rows;
        Warning = warning;
    }

    public double[] Coefficients { get; }

    public double[] Intercept { get; }

    public int Features { get; }

    public int Targets { get; }

    /// <summary>Directions kept: singular values above Rcond × the largest (and above zero).</summary>
    public int EffectiveRank { get; }

    /// <summary>Singular values of the centred, √w-scaled design, descending (√ of the Gram eigenvalues, negatives clamped to 0).</summary>
    public double[] SingularValues { get; }

    public bool IsRankDeficient => EffectiveRank < Features;

    public double Ridge { get; }

    public double Rcond { get; }

    public double WeightTotal { get; }

    public int Rows { get; }

    /// <summary>Set when the design was rank-deficient and no ridge was given (the cutoff was used), or similar; null otherwise.</summary>
    public string? Warning { get; }

    /// <summary>Predictions for all rows of <paramref name="x"/>, or for <paramref name="rows"/> in that order.</summary>
    public DenseMatrix Predict(FeatureMatrix x, int[]? rows = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Cols != Features)
        {
            throw new BeliefLensInputException($"features: probe was fitted on {Features} columns but got {x.Cols}; use activations from the same site.");
        }

        int n = rows?.Length ?? x.Rows;
        int d = Features;
        int k = Targets;
        var coefficientsT = new double[k * d];
        for (int i = 0; i < d; i++)
        {
            for (int t = 0; t < k; t++)
            {
                coefficientsT[t * d + i] = Coefficients[i * k + t];
            }
        }

        var output = new double[n * k];
        Parallel.For(0, (n + 4095) / 4096, chunk =>
        {
            var row = new double[d + System.Numerics.Vector<double>.Count];
            int end = Math.Min(n, (chunk + 1) * 4096);
            for (int r = chunk * 4096; r < end; r++)
            {
                x.CopyRow(rows is null ? r : rows[r], row);
                for (int t = 0; t < k; t++)
                {
                    output[r * k + t] = Intercept[t] + SymmetricEigen.Dot(row.AsSpan(0, d), coefficientsT.AsSpan(t * d, d));
                }
            }
        });

        return new DenseMatrix(output, n, k);
    }
}

/// <summary>
/// The centred normal equations of one design, eigendecomposed once, so many ridge/cutoff settings
/// can be solved cheaply (validation) from a single pass over the data.
/// </summary>
public sealed class LeastSquaresSystem
{
    private readonly WeightedGram _gram;
    private readonly SymmetricEigen _eigen;
    private readonly double[] _projectedCross; // [Features (eigen directions)][Targets]: Vᵀ C

    private LeastSquaresSystem(WeightedGram gram, SymmetricEigen eigen)
    {
        _gram = gram;
        _eigen = eigen;
        int d = gram.Features;
        int k = gram.Targets;
        _projectedCross = new double[d * k];
        for (int i = 0; i < d; i++)
        {
            ReadOnlySpan<double> v = eigen.EigenVector(i);
            for (int t = 0; t < k; t++)
            {
                double sum = 0;
                for (int j = 0; j < d; j++)
                {
                    sum += v[j] * gram.Cross[j * k + t];
                }

                _projectedCross[i * k + t] = sum;
            }
        }

        SingularValues = eigen.Values.Select(value => Math.Sqrt(Math.Max(value, 0))).ToArray();
    }

    public int Features => _gram.Features;

    public int Targets => _gram.Targets;

    public int Rows => _gram.RowCount;

    public double WeightTotal => _gram.WeightTotal;

    /// <summary>Singular values of the centred, √w-scaled design, descending.</summary>
    public double[] SingularValues { get; }

    /// <summary>Weighted mean of the targets over the fitted rows.</summary>
    public IReadOnlyList<double> TargetMean => _gram.TargetMean;

    /// <summary>Σ w ‖y − ȳ‖² over the fitted rows.</summary>
    public double TargetSumOfSquares => _gram.TargetSumOfSquares;

    /// <summary>Builds the system. <paramref name="weights"/> is indexed by row of <paramref name="x"/> (not by position in <paramref name="rows"/>).</summary>
    public static LeastSquaresSystem Build(FeatureMatrix x, DenseMatrix y, double[]? weights = null, int[]? rows = null, int maxDegreeOfParallelism = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        ProbeValidation.CheckDesign(x, y, weights, rows);
        var gram = WeightedGram.Compute(x, y, weights, rows, maxDegreeOfParallelism);
        if (!(gram.WeightTotal > 0))
        {
            throw new BeliefLensInputException("weights: the selected rows have zero total weight; nothing to fit.");
        }

        return new LeastSquaresSystem(gram, SymmetricEigen.Decompose(gram.Gram, gram.Features));
    }

    /// <summary>Number of singular values above max(rcond, 1e-7) × the largest (and above zero).</summary>
    public int EffectiveRank(double rcond)
    {
        double threshold = Math.Max(rcond, AffineFitOptions.MinimumResolvableRcond) * SingularValues[0];
        return SingularValues.Count(s => s > threshold && s > 0);
    }

    public AffineFit Solve(AffineFitOptions? options = null)
    {
        options ??= AffineFitOptions.Default;
        int d = Features;
        int k = Targets;
        int rank = EffectiveRank(options.Rcond);
        var coefficients = new double[d * k];
        for (int i = 0; i < rank; i++)
        {
            double scale = 1.0 / (_eigen.Values[i] + options.Ridge);
            ReadOnlySpan<double> v = _eigen.EigenVector(i);
            for (int t = 0; t < k; t++)
            {
                double component = _projectedCross[i * k + t] * scale;
                for (int j = 0; j < d; j++)
                {
                    coefficients[j * k + t] += v[j] * component;
                }
            }
        }

        var intercept = new double[k];
        for (int t = 0; t < k; t++)
        {
            double value = _gram.TargetMean[t];
            for (int j = 0; j < d; j++)
            {
                value -= _gram.FeatureMean[j] * coefficients[j * k + t];
            }

            intercept[t] = value;
        }

        string? warning = null;
        if (rank < d && options.Ridge == 0)
        {
            warning = string.Create(CultureInfo.InvariantCulture,
                $"rank-deficient design: effective rank {rank} of {d} features at rcond {options.Rcond:G3} with no ridge; dropped {d - rank} directions (minimum-norm solution via the SVD cutoff). Pass a ridge or a larger rcond to regularise deliberately.");
        }

        return new AffineFit(coefficients, intercept, d, k, rank, SingularValues, options.Ridge, options.Rcond, WeightTotal, Rows, warning);
    }
}

/// <summary>Affine least squares in float64 (centred Gram matrix, symmetric eigen pseudo-inverse).</summary>
public static class AffineLeastSquares
{
    /// <summary>
    /// Fits ŷ = x·B + b minimising Σ w ‖ŷ − y‖² (+ ridge ‖B‖²) over the selected rows.
    /// <paramref name="weights"/> (≥ 0) is indexed by row of <paramref name="x"/>; null means 1 for every row.
    /// <paramref name="rows"/> selects rows (repeats count repeatedly); null means all.
    /// </summary>
    public static AffineFit Fit(FeatureMatrix x, DenseMatrix y, double[]? weights = null, int[]? rows = null, AffineFitOptions? options = null)
    {
        options ??= AffineFitOptions.Default;
        return LeastSquaresSystem.Build(x, y, weights, rows, options.MaxDegreeOfParallelism).Solve(options);
    }

    /// <summary>
    /// Chooses regularisation by validation: builds the system on <paramref name="fitRows"/>, solves every
    /// candidate, scores weighted MSE on <paramref name="validationRows"/> and returns the best (ties → first candidate).
    /// </summary>
    public static RegularisationChoice ChooseByValidation(FeatureMatrix x, DenseMatrix y, double[]? weights, int[] fitRows, int[] validationRows,
        IReadOnlyList<AffineFitOptions>? candidates = null) =>
        ChooseByValidation(x, y, weights, fitRows, weights, validationRows, candidates);

    /// <summary>
    /// As above with separate weights (both indexed by row of <paramref name="x"/>) for the fitted and the scored rows,
    /// e.g. fit rows merged by prefix (<see cref="ActivationDataset.Collapse"/>) but validation scored on every row.
    /// </summary>
    public static RegularisationChoice ChooseByValidation(FeatureMatrix x, DenseMatrix y, double[]? fitWeights, int[] fitRows, double[]? validationWeights,
        int[] validationRows, IReadOnlyList<AffineFitOptions>? candidates = null)
    {
        ArgumentNullException.ThrowIfNull(fitRows);
        ArgumentNullException.ThrowIfNull(validationRows);
        ProbeValidation.CheckDesign(x, y, validationWeights, validationRows);
        var system = LeastSquaresSystem.Build(x, y, fitWeights, fitRows, candidates?.FirstOrDefault()?.MaxDegreeOfParallelism ?? 0);
        candidates ??= DefaultCandidates(system);
        if (candidates.Count == 0)
        {
            throw new BeliefLensInputException("candidates: need at least one ridge/rcond setting to validate.");
        }

        var truth = y.SelectRows(validationRows);
        double[]? scoredWeights = validationWeights is null ? null : validationRows.Select(r => validationWeights[r]).ToArray();
        var scores = new List<(AffineFitOptions Options, double ValidationMse, int EffectiveRank)>();
        int best = 0;
        for (int c = 0; c < candidates.Count; c++)
        {
            var fit = system.Solve(candidates[c]);
            var metrics = RegressionMetrics.Compute(fit.Predict(x, validationRows), truth, scoredWeights);
            scores.Add((candidates[c], metrics.Mse, fit.EffectiveRank));
            if (metrics.Mse < scores[best].ValidationMse)
            {
                best = c;
            }
        }

        return new RegularisationChoice(candidates[best], scores[best].ValidationMse, scores) { FitWeightTotal = system.WeightTotal };
    }

    /// <summary>
    /// Cutoffs rcond 1e-7..1e-1 without ridge, then ridges 1e-12..1e-1 × the largest Gram eigenvalue
    /// (so the penalty scales with the site's activation norm) at the minimum cutoff. The strong end matters when a
    /// concatenated site has more dimensions than the fit has distinct prefixes (RRXOR's held-out concat fit).
    /// </summary>
    public static IReadOnlyList<AffineFitOptions> DefaultCandidates(LeastSquaresSystem system)
    {
        ArgumentNullException.ThrowIfNull(system);
        var list = new List<AffineFitOptions>();
        foreach (double rcond in new[] { 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 3e-2, 1e-1 })
        {
            list.Add(new AffineFitOptions(0, rcond));
        }

        double largest = system.SingularValues[0] * system.SingularValues[0];
        if (largest > 0)
        {
            foreach (double relative in new[] { 1e-12, 1e-10, 1e-8, 1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1 })
            {
                list.Add(new AffineFitOptions(relative * largest, AffineFitOptions.MinimumResolvableRcond));
            }
        }

        return list;
    }
}

/// <summary>Result of <see cref="AffineLeastSquares.ChooseByValidation"/>: the chosen setting and every candidate's score.</summary>
public sealed record RegularisationChoice(
    AffineFitOptions Best,
    double BestValidationMse,
    IReadOnlyList<(AffineFitOptions Options, double ValidationMse, int EffectiveRank)> Candidates)
{
    /// <summary>Σw of the rows the candidates were fitted on (ridge is in Gram units, which grow with Σw).</summary>
    public double FitWeightTotal { get; init; }

    /// <summary>
    /// The chosen setting for a refit on rows of total weight <paramref name="weightTotal"/>: the same cutoff and the
    /// same ridge per unit weight (λ·W/W_fit), so the penalty keeps its strength relative to the data term.
    /// </summary>
    public AffineFitOptions For(double weightTotal) =>
        Best.Ridge == 0 || !(FitWeightTotal > 0)
            ? Best
            : new AffineFitOptions(Best.Ridge * weightTotal / FitWeightTotal, Best.Rcond, Best.MaxDegreeOfParallelism);
}

internal static class ProbeValidation
{
    public static void CheckDesign(FeatureMatrix x, DenseMatrix? y, double[]? weights, int[]? rows)
    {
        if (y is not null && y.Rows != x.Rows)
        {
            throw new BeliefLensInputException($"targets: {y.Rows} rows but features have {x.Rows}; give one target row per activation row.");
        }

        if (weights is not null)
        {
            if (weights.Length != x.Rows)
            {
                throw new BeliefLensInputException($"weights: {weights.Length} values but features have {x.Rows} rows; give one weight per activation row.");
            }

            for (int i = 0; i < weights.Length; i++)
            {
                if (!double.IsFinite(weights[i]) || weights[i] < 0)
                {
                    throw new BeliefLensInputException($"weights[{i}]: {weights[i].ToString(CultureInfo.InvariantCulture)} is invalid; weights must be finite and >= 0.");
                }
            }
        }

        if (rows is not null)
        {
            for (int i = 0; i < rows.Length; i++)
            {
                if ((uint)rows[i] >= (uint)x.Rows)
                {
                    throw new BeliefLensInputException($"rows[{i}]: index {rows[i]} is outside 0..{x.Rows - 1}.");
                }
            }
        }

        int count = rows?.Length ?? x.Rows;
        if (count == 0)
        {
            throw new BeliefLensInputException("rows: no rows selected; nothing to fit.");
        }
    }
}
