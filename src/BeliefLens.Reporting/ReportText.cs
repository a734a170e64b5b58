using System.Globalization;
using System.Text;

namespace BeliefLens.Reporting;

/// <summary>
/// Published numbers from Shai et al. (2024) that the report sets beside a run of the paper's own setting.
/// </summary>
public static class PaperValues
{
    /// <summary>Probe MSE on the paper's final Mess3 checkpoint (unweighted, in-sample, blocks.3.hook_resid_post).</summary>
    public const double Mess3FinalProbeMse = 0.00038635;

    /// <summary>Tokens the paper's final Mess3 checkpoint was trained on.</summary>
    public const long Mess3FinalTokens = 629_209_600;

    /// <summary>The shuffled-target control's MSE for Mess3: the variance of its beliefs.</summary>
    public const double Mess3ShuffleMse = 0.111;

    /// <summary>True for Mess3 with the paper's parameters (x = 0.05, α = 0.85), whether set or defaulted.</summary>
    public static bool IsPaperMess3(string processSpec, IReadOnlyDictionary<string, double> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        return processSpec == "mess3"
            && parameters.GetValueOrDefault("x", 0.05) == 0.05
            && parameters.GetValueOrDefault("alpha", 0.85) == 0.85;
    }
}

/// <summary>The report's words and tables, written from the numbers it is given.</summary>
public static class ReportText
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string ProcessSection(string processName, int depth) =>
        $"The exact belief states (mixed states) of {processName}: every prefix up to length {depth}, computed in float64.";

    public static string MspSection(Core.MspGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return $"The mixed-state presentation of {graph.ProcessName}: every belief an observer can hold after some prefix, "
            + $"and the token transitions between them ({MspGraphFiles.Describe(graph)}). Its recurrent part is the process's ε-machine.";
    }

    public static string MspCaption(Core.MspGraph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return $"Belief states of {graph.ProcessName} as nodes, labelled with the belief over ({string.Join(", ", graph.StateNames)}); "
            + "filled: recurrent, with their long-run probability π; dashed: transient; edges: token and its probability. "
            + "Drawn by Graphviz from msp.dot in the figures folder.";
    }

    public static string HeadlineSection(IReadOnlyList<SiteMetrics> headlineSites, double fitFraction)
    {
        ArgumentNullException.ThrowIfNull(headlineSites);
        string fit = $"fit on {Percent(fitFraction)} of the sequences and shown for every distinct prefix";
        if (headlineSites.Count == 1)
        {
            return $"An affine probe from {headlineSites[0].Site} to the belief after each prefix, {fit}.";
        }

        var concat = headlineSites.First(s => s.IsConcatenation);
        var single = headlineSites.First(s => !s.IsConcatenation);
        return $"Affine probes to the belief after each prefix, {fit}: from the best single site, {single.Site} (held-out R² {single.HeldOutR2.ToString("F4", Inv)}), "
            + $"and from all sites concatenated (held-out R² {concat.HeldOutR2.ToString("F4", Inv)}), which recovers the geometry better than any one layer.";
    }

    /// <summary>The summary paragraph at the top of the report.</summary>
    public static string Summary(RunReportInput input, SiteMetrics main)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(main);
        var run = input.Experiment;
        var t = input.Training;
        var text = new StringBuilder();
        string model = run.Architecture == "transformer"
            ? $"transformer (d_model {run.DModel})"
            : $"{run.Architecture.ToUpperInvariant()} ({run.DModel} hidden units per layer)";
        text.Append(Inv, $"A {run.NLayers}-layer {model} was trained on {t.Tokens:N0} tokens from {input.Process.Name} in {t.WallSeconds:F0} s. ");
        text.Append(Inv, $"Its validation loss is {t.ValidationLoss:F4} nats against the optimum of {t.LossFloor:F4} nats ({(t.ValidationLoss / t.LossFloor - 1) * 100:F2}% above the floor). ");
        text.Append(Inv, $"A linear probe on {main.Site} recovers the exact Bayesian belief states with held-out R² {main.HeldOutR2:F4} and MSE {main.HeldOutMse:G3}, ");
        text.Append(Inv, $"against {main.ShuffleMse:G3} for shuffled targets and {main.UntrainedMse:G3} for the same probe on the untrained network. ");
        var concat = input.Sites.FirstOrDefault(s => s.IsConcatenation);
        var singles = input.Sites.Where(s => !s.IsConcatenation).ToList();
        if (concat is not null && singles.Count > 0)
        {
            var single = singles.OrderBy(s => double.IsNaN(s.HeldOutMse) ? double.MaxValue : s.HeldOutMse).First();
            double ratio = single.HeldOutMse / concat.HeldOutMse;
            text.Append(Inv, $"Concatenating all residual-stream sites gives held-out MSE {concat.HeldOutMse:G3}, {ratio:F1}× lower than the best single site ({single.Site}). ");
        }

        // The numbers the distance figure prints, from the same analysis.
        var d = input.Distances;
        text.Append(Inv, $"Distances between predicted beliefs track distances between true beliefs with R² {d.R2PredictedVsTrueBeliefs:F3}, and distances between next-token distributions with R² {d.R2PredictedVsNextToken:F3}.");

        if (input.Mixture is { } mixture)
        {
            text.Append(Inv, $" The process is a mixture of {mixture.Components} components: the same site encodes which component generated the sequence (held-out R² {mixture.ComponentIdentity.HeldOutR2:F4}) ");
            text.Append(Inv, $"and the belief within each component (held-out R² {mixture.WithinComponentBelief.HeldOutR2:F4}).");
        }

        return text.ToString();
    }

    /// <summary>The metrics table: this run's numbers, with the paper's published values beside a run of the paper's setting.</summary>
    public static IReadOnlyList<MetricRow> MetricRows(RunReportInput input, SiteMetrics main)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(main);
        var run = input.Experiment;
        bool paper = PaperValues.IsPaperMess3(run.ProcessSpec, run.ProcessParameters);
        string site = main.Site;
        var rows = new List<MetricRow>
        {
            new("Validation loss (mean over positions, nats)", F(input.Training.ValidationLoss, "F5"), null, $"floor {F(input.Training.LossFloor, "F5")}"),
            new("Tokens seen", input.Training.Tokens.ToString("N0", Inv), paper ? PaperValues.Mess3FinalTokens.ToString("N0", Inv) : null,
                paper ? "the paper's final checkpoint" : null),
            new($"Probe MSE in-sample ({site})", F(main.InSampleMse, "G4"),
                paper ? PaperValues.Mess3FinalProbeMse.ToString("G5", Inv) : null, paper ? "paper: final checkpoint, unweighted, in-sample" : null),
            new($"Probe MSE held-out ({site})", F(main.HeldOutMse, "G4"), null,
                $"fit on {Percent(run.FitFraction)} of sequences, scored on the rest; R² {F(main.HeldOutR2, "F4")}"),
            new("Shuffled-target MSE", F(main.ShuffleMse, "G4"), paper ? "≈" + PaperValues.Mess3ShuffleMse.ToString("G3", Inv) : null,
                "control: equals the belief variance"),
            new("Untrained-model MSE", F(main.UntrainedMse, "G4"), null, "control: same probe on the step-0 network"),
        };
        if (input.Sites.FirstOrDefault(s => s.IsConcatenation) is { } concat)
        {
            rows.Add(new MetricRow("Probe MSE, all sites concatenated", F(concat.InSampleMse, "G4"), null, $"in-sample; held-out {F(concat.HeldOutMse, "G4")}"));
        }

        if (main.Pca is { } spectrum)
        {
            rows.Add(new MetricRow("PCA components for 80/90/95/99% of variance",
                string.Create(Inv, $"{spectrum.For80}/{spectrum.For90}/{spectrum.For95}/{spectrum.For99}"), null, $"of {main.Dims} dimensions at {site}"));
        }

        if (input.Mixture is { } mixture)
        {
            foreach (var (score, label) in new[] { (mixture.ComponentIdentity, "component identity"), (mixture.WithinComponentBelief, "within-component belief") })
            {
                rows.Add(new MetricRow($"Mixture: {label} probe MSE held-out", F(score.HeldOutMse, "G4"), null,
                    $"R² {F(score.HeldOutR2, "F4")}; shuffled {F(score.ShuffleMse, "G4")}"));
            }
        }

        return rows;
    }

    /// <summary>Every site's probe errors and controls, one row per site.</summary>
    public static ReportTable SiteTable(IReadOnlyList<SiteMetrics> sites)
    {
        ArgumentNullException.ThrowIfNull(sites);
        return new ReportTable(
            "Probe error at every residual-stream site (MSE averaged over points and belief dimensions)",
            ["site", "dims", "in-sample MSE", "held-out MSE", "held-out R²", "shuffled", "untrained", "next-token MSE"],
            sites.Select(s => (IReadOnlyList<string>)
            [
                s.Site, s.Dims.ToString(Inv), F(s.InSampleMse, "G4"), F(s.HeldOutMse, "G4"), F(s.HeldOutR2, "F4"),
                F(s.ShuffleMse, "G4"), F(s.UntrainedMse, "G4"), F(s.NextTokenMse, "G4"),
            ]).ToList());
    }

    private static string Percent(double fraction) => (fraction * 100).ToString("F0", Inv) + "%";

    private static string F(double value, string format) => double.IsFinite(value) ? value.ToString(format, Inv) : "n/a";
}
