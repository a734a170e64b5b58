using System.Globalization;
using System.Text.Json.Nodes;
using ScottPlot;

namespace BeliefLens.Reporting;

/// <summary>
/// The report sections of a run on a mixture or product, drawn from the numbers of its composite.json: per-position
/// loss against the Bayes curve (log axis), loss at the k-th event, meta-belief over the context, explained variance per
/// factor and subspace overlaps with their baselines, dims@95 over training. Computes nothing.
/// </summary>
public static class CompositeReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static IReadOnlyList<ReportSection> Sections(JsonObject composite, string directory)
    {
        ArgumentNullException.ThrowIfNull(composite);
        var sections = new List<ReportSection>();
        var perPosition = composite["per_position"]!.AsObject();
        var model = Values(perPosition["model"]);
        var bayes = Values(perPosition["bayes"]);
        bool exact = perPosition["bayes_exact"]!.GetValue<bool>();
        double excess = perPosition["max_abs_excess_over_bayes"]!.GetValue<double>();
        double paired = perPosition["max_excess_over_validation_floor"]!.GetValue<double>();

        // Positions t predict token t+2 in the myopic count: x is ℓ = t+2, the length of the predicted prefix.
        var ell = Enumerable.Range(0, model.Length).Select(t => Math.Log10(t + 2.0)).ToArray();
        var lossPlot = FigureStyle.NewPlot("Per-position loss against Bayes", "ℓ, the predicted token's position (log scale)", "cross-entropy (nats)");
        AddLine(lossPlot, ell, model, 0, "model (validation)");
        AddLine(lossPlot, ell, bayes, 1, exact ? "Bayes (exact)" : "Bayes (Monte Carlo)");
        FigureStyle.UseLog10Ticks(lossPlot.Axes.Bottom);
        Legend(lossPlot);
        var lossFigure = FigureWriter.Write([lossPlot], 1, directory, "composite-loss-vs-bayes",
            $"Validation loss at each context position against the Bayes-optimal loss h(ℓ) ({(exact ? "exact, from the merged mixed-state presentation" : "Monte Carlo with exact belief tracking")}); largest gap {excess.ToString("0.0000", Inv)} nats, largest excess over the validation sequences' own Bayes loss {paired.ToString("0.0000", Inv)} nats.", 900, 520);
        var figures = new List<ReportFigure> { ReportFigure.From(lossFigure) };

        if (composite["mixture"] is JsonObject mixture)
        {
            var certainty = Values(mixture["meta_belief_max_mass"]);
            var metaPlot = FigureStyle.NewPlot("Meta-belief over the context", "ℓ, tokens read (log scale)", "posterior mass of the likeliest component");
            AddLine(metaPlot, Enumerable.Range(0, certainty.Length).Select(t => Math.Log10(t + 1.0)).ToArray(), certainty, 2, "Bayes meta-belief, mean over sequences");
            FigureStyle.UseLog10Ticks(metaPlot.Axes.Bottom);
            Legend(metaPlot);
            figures.Add(ReportFigure.From(FigureWriter.Write([metaPlot], 1, directory, "composite-meta-belief",
                "The mixture's meta-belief: the posterior mass of the most probable component after ℓ tokens, averaged over sampled sequences.", 900, 480)));
            if (mixture["event"] is JsonObject events)
            {
                var modelK = Values(events["model"]);
                var bayesK = Values(events["bayes"]);
                var k = Enumerable.Range(1, modelK.Length).Select(i => (double)i).ToArray();
                var eventPlot = FigureStyle.NewPlot($"Loss at the k-th {string.Join("/", events["tokens"]!.AsArray().Select(t => t!.GetValue<string>()))}", "k", "cross-entropy (nats)");
                AddLine(eventPlot, k, modelK, 0, "model");
                AddLine(eventPlot, k, bayesK, 1, "Bayes");
                Legend(eventPlot);
                figures.Add(ReportFigure.From(FigureWriter.Write([eventPlot], 1, directory, "composite-event-loss",
                    $"Loss on the k-th occurrence of the event token; first: model {F(modelK[0])} vs Bayes {F(bayesK[0])} nats, later: model at most {F(modelK.Skip(1).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Max())} nats.", 900, 480)));
            }

            sections.Add(new ReportSection("In-context learning of the mixture component", figures));
            return sections;
        }

        if (composite["product"] is JsonObject product)
        {
            string text = $"At {product["site"]}: factored R² {F(product["factored_r2"])} (onto each factor's belief) against joint R² {F(product["joint_r2"])} (onto the joint belief); dims@95 {product["dims_at_95"]} against Σ(S_i−1)+2 = {product["dims_budget"]}.";
            if (product["factor_cev"] is JsonArray cev)
            {
                var cevPlot = FigureStyle.NewPlot("Explained variance per factor (vary-one)", "principal components", "cumulative explained variance");
                for (int f = 0; f < cev.Count; f++)
                {
                    var values = Values(cev[f]);
                    AddLine(cevPlot, Enumerable.Range(1, values.Length).Select(i => (double)i).ToArray(), values, f, $"factor {f}");
                }

                cevPlot.Add.HorizontalLine(0.95, 1, FigureStyle.Floor, LinePattern.Dashed);
                Legend(cevPlot);
                figures.Add(ReportFigure.From(FigureWriter.Write([cevPlot], 1, directory, "composite-factor-cev",
                    "Cumulative explained variance of the activation changes caused by one factor alone (every other factor's tokens frozen); dashed: 95%.", 900, 480)));
            }

            if (product["overlaps"] is JsonArray pairs && pairs.Count > 0)
            {
                var overlapPlot = FigureStyle.NewPlot("Subspace overlap between factors", "k", "‖V1[:k] V2[:k]ᵀ‖²_F / k");
                int color = 0;
                foreach (var pair in pairs.Select(p => p!.AsObject()))
                {
                    var overlap = Values(pair["overlap"]);
                    var k = Enumerable.Range(1, overlap.Length).Select(i => (double)i).ToArray();
                    AddLine(overlapPlot, k, overlap, color++ % FigureStyle.Palette.Length, $"factors {pair["factors"]![0]}–{pair["factors"]![1]}");
                }

                var first = pairs[0]!.AsObject();
                var ks = Enumerable.Range(1, Values(first["overlap"]).Length).Select(i => (double)i).ToArray();
                var random = overlapPlot.Add.ScatterLine(ks, Values(first["random_subspace"]), FigureStyle.Floor);
                random.LinePattern = LinePattern.Dashed;
                random.LegendText = "random subspaces, k/d";
                var low = overlapPlot.Add.ScatterLine(ks, Values(first["random_init_min"]), FigureStyle.Grid);
                low.LegendText = "random-init models (min–max)";
                overlapPlot.Add.ScatterLine(ks, Values(first["random_init_max"]), FigureStyle.Grid);
                Legend(overlapPlot);
                figures.Add(ReportFigure.From(FigureWriter.Write([overlapPlot], 1, directory, "composite-overlap",
                    "Normalised overlap of two factors' principal subspaces; dashed: the random-subspace value k/d; grey: the band of five randomly initialised models.", 900, 480)));
            }

            if (product["dims_over_training"] is JsonObject over)
            {
                var steps = Values(over["steps"]);
                var dims = Values(over["dims_at_95"]);
                var dimsPlot = FigureStyle.NewPlot("dims@95 over training", "step", "components for 95% of the variance");
                AddLine(dimsPlot, steps, dims, 3, "dims@95");
                Legend(dimsPlot);
                string slope = product["dims_slope_last_half"] is JsonNode s ? $" Slope over the last half of the checkpoints: {s.GetValue<double>().ToString("G3", Inv)} per step." : string.Empty;
                figures.Add(ReportFigure.From(FigureWriter.Write([dimsPlot], 1, directory, "composite-dims-over-training",
                    "Principal components needed for 95% of the activations' variance at each checkpoint." + slope, 900, 480)));
            }

            sections.Add(new ReportSection("Factored representations", figures, Text: text));
        }

        return sections;
    }

    private static void AddLine(Plot plot, double[] x, double[] y, int color, string label)
    {
        var line = plot.Add.ScatterLine(x, y, FigureStyle.Palette[color % FigureStyle.Palette.Length]);
        line.LineWidth = 2;
        line.MarkerSize = x.Length <= 40 ? 5 : 0;
        line.LegendText = label;
    }

    private static void Legend(Plot plot)
    {
        plot.ShowLegend(Edge.Bottom);
        plot.Legend.Orientation = Orientation.Horizontal;
    }

    private static double[] Values(JsonNode? node) =>
        node is JsonArray array ? array.Select(v => v is null ? double.NaN : v.GetValue<double>()).ToArray() : [];

    private static string F(JsonNode? node) => node is null ? "n/a" : node.GetValue<double>().ToString("0.0000", Inv);

    private static string F(double value) => double.IsFinite(value) ? value.ToString("0.0000", Inv) : "n/a";
}
