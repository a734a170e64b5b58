using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>The dimensions of one point cloud (information and correlation), with what the cloud was.</summary>
public sealed record CloudDimensions(
    string Cloud,
    int Points,
    double Diameter,
    DimensionFit Information,
    DimensionFit Correlation);

/// <summary>
/// The `dimension` command's result: the chaos game's h_μ, Lyapunov spectrum and d_LY; the MSP's depth-L belief cloud;
/// and, for a run directory, the probe's predicted cloud beside the true beliefs of the same rows and window.
/// Flat headline fields (h_mu, d_ly, d_info_msp, d_info_predicted, …) first; the full curves under <c>clouds</c>.
/// </summary>
public sealed record DimensionReport(
    string Process,
    string Kind,
    int HiddenStates,
    int SimplexDimension,
    long Steps,
    int BurnIn,
    string Seed,
    double HMu,
    double? HMuExact,
    string HMuExactSource,
    double[] Lyapunov,
    int KaplanYorkeK,
    double DLy,
    int MspDepth,
    double? DInfoMsp,
    double? DCorrMsp,
    ScaleWindow WindowMsp,
    double? FitR2Msp,
    double? FitR2CorrMsp,
    string? Site,
    double? ProbeRmse,
    double? DInfoPredicted,
    double? DCorrPredicted,
    double? DInfoTrueSameRows,
    ScaleWindow? WindowPredicted,
    double? FitR2Predicted,
    double? FitR2CorrPredicted,
    IReadOnlyList<CloudDimensions> Clouds);

/// <summary>Composes <see cref="BeliefIfs"/> (Core) and <see cref="FractalDimension"/> into a <see cref="DimensionReport"/>.</summary>
public static class BeliefDimensions
{
    public const int DefaultMspDepth = 12;

    /// <summary>The upper end of every window: a tenth of the cloud's diameter (larger boxes see the cloud's outline, not its texture).</summary>
    public const double UpperFraction = 0.1;

    /// <summary>
    /// The lower end of the MSP window, as the fraction of the information the depth-L cloud can hold: below the scale
    /// where I(ε) reaches this share of the cloud's own entropy H(depth-L beliefs), boxes start to hold single atoms
    /// of the finite cloud and I(ε) bends over to that ceiling.
    /// </summary>
    public const double SaturationShare = 0.5;

    /// <summary>The predicted cloud's lower end is this many probe RMSEs: below it the probe's error blurs the geometry.</summary>
    public const double RmseMultiple = 1.0;

    /// <summary>The process part: chaos game, exact entropy rate from the MSP, and the depth-L MSP cloud.</summary>
    public static (DimensionReport Report, WeightedCloud MspCloud) ForProcess(Process process, IfsOptions ifsOptions, int mspDepth = DefaultMspDepth)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(ifsOptions);
        if (mspDepth < 1)
        {
            throw new BeliefLensInputException($"depth: {mspDepth} must be at least 1 (the MSP depth of the belief cloud).");
        }

        var ifs = BeliefIfs.Run(process, ifsOptions);
        var msp = MixedStatePresentation.Build(process, mspDepth);
        var cloud = FractalDimension.BeliefsAtDepth(msp, mspDepth);
        double diameter = cloud.Diameter();
        var window = MspWindow(cloud, diameter);
        var information = FractalDimension.Information(cloud, window);
        var correlation = FractalDimension.Correlation(cloud, window, seed: ifsOptions.Seed);
        var mspCloud = new CloudDimensions($"msp_depth_{mspDepth}", cloud.Count, diameter, information, correlation);
        var report = new DimensionReport(
            process.Name, process.Kind == ProcessKind.Hmm ? "hmm" : "ghmm", process.StateCount, ifs.SimplexDimension,
            ifs.Steps, ifs.BurnIn, ifs.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ifs.EntropyRate, msp.EntropyRate, msp.ExactEntropyRate is null ? $"h({mspDepth}) of the MSP (its recurrent part is not finite)" : "exact, recurrent MSP",
            ifs.Lyapunov, ifs.KaplanYorkeK, ifs.LyapunovDimension,
            mspDepth, information.Dimension, correlation.Dimension, window, information.FitR2, correlation.FitR2,
            null, null, null, null, null, null, null, null, [mspCloud]);
        return (report, cloud);
    }

    /// <summary>
    /// Adds a probe's predicted cloud, fitted in [RMSE, diameter/10] of the true cloud, and the true beliefs of the same
    /// rows in the same window (so the two numbers differ only by what the probe does to the geometry).
    /// </summary>
    public static DimensionReport WithPredictions(DimensionReport report, string site, WeightedCloud predicted, WeightedCloud truth, double probeRmse, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(predicted);
        ArgumentNullException.ThrowIfNull(truth);
        double diameter = truth.Diameter();
        var window = new ScaleWindow(RmseMultiple * probeRmse, UpperFraction * diameter,
            $"{RmseMultiple:0.##} × probe RMSE", $"{UpperFraction:0.##} × diameter of the true cloud");
        var predictedInformation = FractalDimension.Information(predicted, window);
        var predictedCorrelation = FractalDimension.Correlation(predicted, window, seed: seed);
        var trueInformation = FractalDimension.Information(truth, window);
        var trueCorrelation = FractalDimension.Correlation(truth, window, seed: seed);
        return report with
        {
            Site = site,
            ProbeRmse = probeRmse,
            DInfoPredicted = predictedInformation.Dimension,
            DCorrPredicted = predictedCorrelation.Dimension,
            DInfoTrueSameRows = trueInformation.Dimension,
            WindowPredicted = window,
            FitR2Predicted = predictedInformation.FitR2,
            FitR2CorrPredicted = predictedCorrelation.FitR2,
            Clouds = [.. report.Clouds,
                new CloudDimensions($"predicted {site}", predicted.Count, predicted.Diameter(), predictedInformation, predictedCorrelation),
                new CloudDimensions("true beliefs, same rows", truth.Count, diameter, trueInformation, trueCorrelation)],
        };
    }

    /// <summary>
    /// [ε_min, diameter/10] for the depth-L MSP cloud, with ε_min the scale where I(ε) first reaches
    /// <see cref="SaturationShare"/> of the cloud's entropy (bisection in log ε).
    /// </summary>
    public static ScaleWindow MspWindow(WeightedCloud cloud, double diameter)
    {
        ArgumentNullException.ThrowIfNull(cloud);
        double upper = UpperFraction * diameter;
        double ceiling = BeliefMath.Entropy(cloud.Weights);
        double target = SaturationShare * ceiling;
        double lo = Math.Log(diameter * 1e-12), hi = Math.Log(upper);
        if (!(diameter > 0) || FractalDimension.InformationCurve(cloud, [upper])[0] >= target)
        {
            return new ScaleWindow(upper, upper, $"I(ε) reaches {SaturationShare:0.##} of the cloud's entropy", $"{UpperFraction:0.##} × diameter");
        }

        for (int iteration = 0; iteration < 12; iteration++)
        {
            double mid = (lo + hi) / 2;
            if (FractalDimension.InformationCurve(cloud, [Math.Exp(mid)])[0] >= target)
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        return new ScaleWindow(Math.Exp(hi), upper, $"I(ε) reaches {SaturationShare:0.##} of the cloud's entropy ({ceiling:0.###} nats)", $"{UpperFraction:0.##} × diameter");
    }
}
