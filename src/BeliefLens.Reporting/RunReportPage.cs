using BeliefLens.Analysis;
using BeliefLens.Core;

namespace BeliefLens.Reporting;

/// <summary>
/// The run report: renders every figure of a finished run into a directory and assembles report.html's content.
/// Takes the run's numbers as records and arrays (<see cref="RunReportInput"/>); reads no run files and writes only
/// the figure files.
/// </summary>
public static class RunReportPage
{
    /// <summary>Belief-geometry panels stop growing at about this many prefixes.</summary>
    public const long GeometryPointBudget = 300_000;

    /// <summary>Renders the figures into <paramref name="figuresDirectory"/> and returns them with the report's HTML.</summary>
    public static RenderedReport Render(RunReportInput input, string figuresDirectory)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Sites.Count == 0)
        {
            throw new ArgumentException("input: the final probe has no sites.", nameof(input));
        }

        var main = input.Sites.FirstOrDefault(s => s.Site == input.MainSite) ?? input.Sites[0];
        Directory.CreateDirectory(figuresDirectory);

        // 1. The process's own belief geometry, exact, to the deepest level within budget.
        int depth = GeometryDepth(input.Process.VocabSize, input.Experiment.NCtx);
        var tree = BeliefTree.Enumerate(input.Process, depth);
        var treeWeights = tree.LogProbability.Select(Math.Exp).ToArray();
        var geometry = Figures.BeliefGeometry(new BeliefPoints(tree.Beliefs, input.Process.StateCount, treeWeights),
            $"{input.Process.Name}, all prefixes to length {depth}", figuresDirectory);

        // 2. Headline: ground truth beside the probe's prediction(s).
        var headlineSites = HeadlineSites(input.Sites, main.Site);
        var headline = Figures.GroundTruthVsPredicted(input.Truth,
            headlineSites.Select(s => new PredictedPanel(s, Predicted(input, s.Site))).ToList(), figuresDirectory);

        // 3. Emergence over training.
        FigureFile? emergence = null;
        AnimationFile? animation = null;
        if (input.Checkpoints.Count >= 2)
        {
            emergence = Figures.Emergence(input.Truth, SelectByError(input.Checkpoints, input.Experiment.EmergencePanels), figuresDirectory);
            animation = Figures.EmergenceAnimation(input.Truth, input.Checkpoints, figuresDirectory);
        }

        // 4–7. Loss against the floor; probe error per site with controls; distances; PCA spectrum as the probe saved it.
        var loss = Figures.Loss(input.Loss, figuresDirectory);
        var errors = Figures.ProbeErrors(input.Sites, figuresDirectory);
        var distances = Figures.Distances(input.Distances, figuresDirectory);
        FigureFile? pca = main.Pca is { } spectrum ? Figures.PcaSpectrum(spectrum, main.Site, figuresDirectory) : null;

        var sections = new List<ReportSection>
        {
            new("The process", [ReportFigure.From(geometry)], Text: ReportText.ProcessSection(input.Process.Name, depth)),
            new(input.Experiment.Architecture == "transformer" ? "Belief geometry in the residual stream" : "Belief geometry in the hidden states", [ReportFigure.From(headline)], Text: ReportText.HeadlineSection(headlineSites, input.Experiment.FitFraction)),
        };
        if (input.MspGraph is { } mspGraph)
        {
            sections.Insert(1, MspSection(mspGraph, figuresDirectory)); // right after the process it draws
        }

        if (emergence is not null && animation is not null)
        {
            sections.Add(new ReportSection("How the geometry emerges", [ReportFigure.From(emergence), ReportFigure.From(animation)]));
        }

        sections.Add(new ReportSection("Loss against the floor", [ReportFigure.From(loss)]));
        sections.AddRange(input.ExtraSections ?? []); // e.g. the composite-process analyses
        var probeFigures = new List<ReportFigure> { ReportFigure.From(errors), ReportFigure.From(distances) };
        if (pca is not null)
        {
            probeFigures.Add(ReportFigure.From(pca));
        }

        sections.Add(new ReportSection("Probes across layers, with controls", probeFigures, Table: ReportText.SiteTable(input.Sites)));
        FigureFile? boxCounts = input.Dimension is { } dimension ? CausalFigures.BoxCounts(dimension, figuresDirectory) : null;
        if (boxCounts is not null)
        {
            sections.Add(new ReportSection("Fractal dimension of the belief geometry", [ReportFigure.From(boxCounts)], Text: DimensionText(input.Dimension!)));
        }

        var model = new ReportModel(
            $"BeliefLens: {input.Experiment.Name} — {input.Process.Name}",
            ReportText.Summary(input, main),
            input.Experiment.ConfigJson,
            sections,
            ReportText.MetricRows(input, main),
            $"Made by belieflens from {input.SourceDirectory}. Re-render with: belieflens report {input.SourceDirectory}");

        var figures = new List<FigureFile> { geometry, headline };
        if (emergence is not null)
        {
            figures.Add(emergence);
        }

        figures.AddRange([loss, errors, distances]);
        if (pca is not null)
        {
            figures.Add(pca);
        }

        if (boxCounts is not null)
        {
            figures.Add(boxCounts);
        }

        return new RenderedReport(HtmlReport.Render(model), figures, animation);
    }

    /// <summary>The dimension section's prose: every number from dimension.json (written by <c>belieflens dimension RUN_DIR</c>).</summary>
    public static string DimensionText(DimensionReport d)
    {
        ArgumentNullException.ThrowIfNull(d);
        static string F(double? x) => x is double v ? v.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture) : "n/a";
        string predicted = d.Site is null ? string.Empty
            : $" The probe's predicted cloud at {d.Site}, fitted between the probe RMSE ({F(d.WindowPredicted?.Lower)}) and a tenth of the true cloud's diameter ({F(d.WindowPredicted?.Upper)}), has D1 = {F(d.DInfoPredicted)} (R² {F(d.FitR2Predicted)}); the true beliefs of the same prefixes in the same window give {F(d.DInfoTrueSameRows)}.";
        return $"Chaos game of the belief IFS ({d.Steps} steps): entropy rate h_μ = {F(d.HMu)} nats (MSP: {F(d.HMuExact)}), Lyapunov dimension d_LY = {F(d.DLy)}. "
            + $"Box-counting information dimension of the depth-{d.MspDepth} MSP beliefs: D1 = {F(d.DInfoMsp)} (R² {F(d.FitR2Msp)}, window {F(d.WindowMsp.Lower)}–{F(d.WindowMsp.Upper)}); correlation dimension {F(d.DCorrMsp)}.{predicted}";
    }

    /// <summary>
    /// The sites the headline figure draws beside the truth. The main site alone, unless the concatenation of all
    /// sites has a lower held-out MSE than every single site: then the best single site (lowest held-out MSE) and the
    /// concatenation, so a geometry that only the layers together recover (RRXOR) is what the figure shows.
    /// </summary>
    public static IReadOnlyList<SiteMetrics> HeadlineSites(IReadOnlyList<SiteMetrics> sites, string mainSite)
    {
        ArgumentNullException.ThrowIfNull(sites);
        var main = sites.FirstOrDefault(s => s.Site == mainSite) ?? sites[0];
        var concat = sites.FirstOrDefault(s => s.IsConcatenation);
        var singles = sites.Where(s => !s.IsConcatenation && double.IsFinite(s.HeldOutMse)).ToList();
        if (concat is null || !double.IsFinite(concat.HeldOutMse) || singles.Count == 0)
        {
            return [main];
        }

        var best = singles.MinBy(s => s.HeldOutMse)!;
        return concat.HeldOutMse < best.HeldOutMse ? [best, concat] : [main];
    }

    /// <summary>
    /// The first and last checkpoints plus those nearest to evenly spaced steps in log probe error between them,
    /// so the panels follow the geometry forming rather than stretches where nothing changes.
    /// </summary>
    public static IReadOnlyList<CheckpointGeometry> SelectByError(IReadOnlyList<CheckpointGeometry> checkpoints, int count)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        var ordered = checkpoints.OrderBy(c => c.TokensSeen).ToList();
        if (ordered.Count <= count || count < 2)
        {
            return ordered.Take(Math.Max(count, 1)).ToList();
        }

        static double LogError(CheckpointGeometry c) => Math.Log(Math.Max(c.ProbeMse, 1e-12));
        double first = LogError(ordered[0]);
        double last = LogError(ordered[^1]);
        var chosen = new SortedSet<int> { 0, ordered.Count - 1 };
        for (int k = 1; k < count - 1; k++)
        {
            double target = first + ((last - first) * k / (count - 1));
            int best = Enumerable.Range(1, ordered.Count - 2).Where(i => !chosen.Contains(i)).MinBy(i => Math.Abs(LogError(ordered[i]) - target));
            chosen.Add(best);
        }

        return chosen.Select(i => ordered[i]).ToList();
    }

    /// <summary>
    /// The deepest prefix length whose full tree (every prefix up to it) stays within <see cref="GeometryPointBudget"/>
    /// for <paramref name="vocabSize"/> tokens, at most <paramref name="maxDepth"/>, and never below min(maxDepth, 6).
    /// </summary>
    public static int GeometryDepth(int vocabSize, int maxDepth)
    {
        long count = 1;
        long level = 1;
        int depth = 0;
        while (depth < maxDepth && count + (level * vocabSize) <= GeometryPointBudget)
        {
            level *= vocabSize;
            count += level;
            depth++;
        }

        // The floor of 6 only while its tree stays near the budget (27 joint tokens of a product reach 4e8 prefixes at 6).
        int floor = Math.Min(maxDepth, 6);
        return BeliefTree.UpperBound(vocabSize, floor) <= 10 * GeometryPointBudget ? Math.Max(depth, floor) : Math.Max(depth, 1);
    }

    /// <summary>The MSP drawn by Graphviz (msp.dot and msp.svg in the figures folder); without Graphviz, a line saying so.</summary>
    private static ReportSection MspSection(MspGraph graph, string figuresDirectory)
    {
        string svg = Path.Combine(figuresDirectory, "msp.svg");
        var (_, missing) = MspGraphFiles.Write(graph, svg);
        return missing is null
            ? new ReportSection("The mixed-state presentation", [new ReportFigure(svg, ReportText.MspCaption(graph))], Text: ReportText.MspSection(graph))
            : new ReportSection("The mixed-state presentation", [], Text: ReportText.MspSection(graph) + " " + missing);
    }

    private static double[] Predicted(RunReportInput input, string site) =>
        input.PredictedBySite.TryGetValue(site, out var predicted)
            ? predicted
            : throw new ArgumentException($"input: no predicted beliefs for site {site}.", nameof(input));
}
