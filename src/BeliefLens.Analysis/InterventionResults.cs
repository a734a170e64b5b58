namespace BeliefLens.Analysis;

/// <summary>
/// Belief steering at one site (interventions.json, one entry per site). KLs are KL(P_exact(·|η_B) ‖ P_model) in nats
/// at A's last position; "gap closed" is 1 − KL_after/KL_before per pair, averaged over the pairs whose KL_before is
/// at least <see cref="MinKlBefore"/> (smaller gaps make the ratio noise). The controls edit the same pairs by a
/// same-norm random direction, a same-norm direction orthogonal to the belief subspace, and by replacing A's
/// activation with B's (full patch, the ceiling). The "toward model B" gaps measure against the model's own prediction
/// on B instead of the exact one: 1 − KL(P_model(B) ‖ P_after)/KL(P_model(B) ‖ P_before), so a full patch at the last
/// site before the unembedding closes exactly all of it, whatever the model's error. "Encoding" steers along the
/// directions the activations move with the belief (<see cref="BeliefEncoding"/>) instead of the probe's own, scaled
/// so the probe still reads η_B: it asks whether the network reads its beliefs where it writes them. Its control is a
/// random direction of the encoding edit's norm.
/// </summary>
public sealed record SiteSteering(
    string Site,
    int Pairs,
    int PairsUsed,
    double KlBeforeMean,
    double KlAfterMean,
    double GapClosedMean,
    double GapClosedRandom,
    double GapClosedOrthogonal,
    double GapClosedFullPatch,
    double GapClosedMedian,
    double GapClosedOfMeans,
    double KlAfterRandomMean,
    double KlAfterOrthogonalMean,
    double KlAfterFullPatchMean,
    double EditNormMean,
    double ActivationNormMean,
    double ProbeReadingErrorMax,
    double ProbeReadingErrorOrthogonalMax,
    int ProbeRank,
    double ProbeMse,
    double GapClosedTowardModelB,
    double GapClosedFullPatchTowardModelB,
    IReadOnlyList<SteeredExample> Examples,
    KernelSteering? Kernel,
    double GapClosedEncoding,
    double GapClosedEncodingRandom,
    double EditNormEncodingMean)
{
    public const double MinKlBefore = 1e-4;
}

/// <summary>One pair's next-token distributions, for the figure: exact for B, the model on A before and after the edit.</summary>
public sealed record SteeredExample(
    string PrefixA,
    string PrefixB,
    double[] ExactB,
    double[] ExactA,
    double[] ModelBefore,
    double[] ModelAfter,
    double[] ModelRandom,
    double KlBefore,
    double KlAfter);

/// <summary>
/// Steering within the kernel of the emission map: pairs with the same next-token distribution but different beliefs
/// (and different two-step-ahead distributions). The edit moves the probe's reading by η_B − η_A. Next token: KL between
/// the model's distribution before and after the edit (should stay ~0). Two steps: KL(P_exact(x1 x2|η_B) ‖ Q_model) with
/// Q(x1 x2) = P(x1) · P(x2 | A x1), the edit applied at A's last position in both passes, before and after. The
/// "encoding" fields make the same change to the probe's reading along the encoding directions (<see cref="BeliefEncoding"/>).
/// </summary>
public sealed record KernelSteering(
    int Pairs,
    double NextTokenKlShiftMean,
    double NextTokenKlShiftMax,
    double NextTokenKlShiftRandomMean,
    double TwoStepKlBeforeMean,
    double TwoStepKlAfterMean,
    double TwoStepGapClosedMean,
    double TwoStepKlAfterRandomMean,
    double TwoStepGapClosedRandom,
    int PairsMovedTowardTarget,
    string? Note = null,
    double NextTokenKlShiftEncodingMean = double.NaN,
    double TwoStepKlAfterEncodingMean = double.NaN,
    double TwoStepGapClosedEncoding = double.NaN,
    int PairsMovedTowardTargetEncoding = 0);

/// <summary>interventions.json: the model, the process, how pairs were drawn, and one <see cref="SiteSteering"/> per site.</summary>
public sealed record InterventionReport(
    string Model,
    string Process,
    string Seed,
    int PairsRequested,
    double MinBeliefDistance,
    double MinKlBefore,
    string ProbeSource,
    string Scope,
    IReadOnlyList<SiteSteering> Sites);
