using System.ComponentModel;
using System.Globalization;
using System.Numerics;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Reporting;
using BeliefLens.Runs;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;
using Spectre.Console.Cli;
using static TorchSharp.torch;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens attention RUN_DIR | --checkpoint F.pt [--config C] [process] --out DIR</c>: the constrained-belief-update
/// analysis (spectrum and head count, attention by distance, OV vectors, probes to constrained and exact beliefs).
/// </summary>
public sealed class AttentionCommand : BeliefLensCommand<AttentionCommand.Settings>
{
    public sealed class Settings : ProcessSettings
    {
        [CommandArgument(0, "[RUN_DIR|PROCESS]")]
        [Description("a run directory (its last checkpoint is analysed), or with --checkpoint the process")]
        public string? First { get; init; }

        [CommandArgument(1, "[PROCESS]")]
        [Description("the process, after a run directory (default: the run's)")]
        public string? Second { get; init; }

        [CommandOption("--checkpoint <FILE.pt>")]
        [Description("a PyTorch state dict (ours with its sidecar, or the paper's with train_config.json beside it)")]
        public string? Checkpoint { get; init; }

        [CommandOption("--config <CONFIG.json>")]
        [Description("model config (default: the run's, the checkpoint's sidecar, or train_config.json beside it)")]
        public string? Config { get; init; }

        [CommandOption("--seed <S>")]
        [Description("seed of the probes' fit/held-out split (and of the sample when the input set is too large)")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(0)]
        [DefaultValue(0L)]
        public long Seed { get; init; }

        [CommandOption("--max-sequences <N>")]
        [Description("sample this many sequences when there are more nonzero-probability ones")]
        [TypeConverter(typeof(LongValueConverter))]
        [Bounds(1)]
        [DefaultValue(1L << 20)]
        public long MaxSequences { get; init; } = 1L << 20;

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: TorchSharp's choice)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--out <DIR>")]
        [Description("output directory: attention.json, attention.html, figures/ (required)")]
        public string? Out { get; init; }

        public override Spectre.Console.ValidationResult Validate()
        {
            var result = base.Validate();
            return !result.Successful ? result
                : Out is null ? Spectre.Console.ValidationResult.Error("--out: is required for 'attention'; give an output directory.")
                : Checkpoint is null && First is null ? Spectre.Console.ValidationResult.Error("RUN_DIR: give a run directory, or --checkpoint FILE.pt with the process.")
                : Checkpoint is not null && Second is not null ? Spectre.Console.ValidationResult.Error($"{Second}: unexpected; with --checkpoint give only the process.")
                : Spectre.Console.ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Threads is int threads)
        {
            set_num_threads(threads);
        }

        string checkpoint;
        CheckpointInfo info;
        string? processSpec;
        if (settings.Checkpoint is null)
        {
            string runPath = settings.First!;
            if (!Directory.Exists(runPath))
            {
                throw new BeliefLensInputException($"RUN_DIR: '{runPath}' is not a directory; give a run directory, or --checkpoint FILE.pt with the process.");
            }

            var run = new RunDirectory(runPath);
            var steps = run.CompleteCheckpointSteps();
            if (steps.Count == 0)
            {
                throw new BeliefLensInputException($"RUN_DIR: no complete checkpoints under {run.CheckpointsPath}; train first or give --checkpoint FILE.pt.");
            }

            checkpoint = run.CheckpointPath(steps[^1]);
            info = FlagNames.Rephrase(() => ProbeOutput.DescribeRun(run, settings.Config), ("config", "--config"), ("checkpoint", "RUN_DIR"));
            processSpec = settings.Second ?? info.ProcessSpec;
        }
        else
        {
            checkpoint = settings.Checkpoint;
            if (!File.Exists(checkpoint))
            {
                throw new BeliefLensInputException($"--checkpoint: '{checkpoint}' does not exist; give a .pt state dict.");
            }

            info = FlagNames.Rephrase(() => ProbeOutput.DescribeCheckpoint(checkpoint, settings.Config), ("config", "--config"), ("checkpoint", "--checkpoint"));
            processSpec = settings.First ?? info.ProcessSpec;
        }

        if (processSpec is null)
        {
            throw new BeliefLensInputException("process: name the process the model was trained on, e.g. 'attention --checkpoint FILE.pt mess3 --out DIR'.");
        }

        bool recorded = settings.Parameters.Count == 0 && processSpec == info.ProcessSpec && info.ProcessParameters is not null;
        var process = ProcessResolver.Resolve(processSpec, recorded ? info.ProcessParameters! : settings.Parameters);

        var output = new RunDirectory(settings.Out!);
        using var writer = output.Lock("attention");
        using var model = Checkpoints.LoadModel(checkpoint, info.Config, CPU);
        var report = AttentionRunner.Run(model, process, (ulong)settings.Seed, settings.MaxSequences);
        var result = ToRecord(report, checkpoint);
        writer.WriteAttention(result);

        var view = ToView(report, result, checkpoint);
        string figures = writer.CreateFolder(output.FiguresPath);
        var files = new List<FigureFile>
        {
            AttentionFigures.AttentionByDistance(view, figures),
            AttentionFigures.OvVectors(view, figures),
            AttentionFigures.Geometries(view, figures),
            AttentionFigures.Spectrum(view, figures),
        };
        var section = AttentionFigures.Section(view, files);
        string summary = $"The constrained-belief-update analysis of {checkpoint} on {process.Name}: attention by distance, OV vectors and probes to the constrained and exact beliefs.";
        writer.WriteText(output.AttentionReportPath, HtmlReport.Render(new ReportModel($"Attention: {process.Name}", summary, info.Config.ToJson().ToJsonString(), [section], [])));

        Print(result);
        Console.WriteLine($"wrote {output.AttentionPath}, {output.AttentionReportPath} and {files.Count} figures in {figures}");
        return 0;
    }

    private static void Print(AttentionResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine($"process {result.Process}: eigenvalues {string.Join(", ", result.EigenvalueGroups.Select(g => ProcessSpectrum.Format(new Complex(g.Value[0], g.Value[1])) + (g.AlgebraicMultiplicity > 1 ? $" (x{g.AlgebraicMultiplicity})" : string.Empty)))}; predicted heads {result.PredictedHeads}");
        if (result.ConstrainedUndefined is not null)
        {
            Console.WriteLine(result.ConstrainedUndefined);
        }

        foreach (var h in result.Heads)
        {
            Console.WriteLine(string.Create(inv,
                $"layer {h.Layer} head {h.Head}: lambda_fit {h.LambdaFit:F4} (R2 {h.FitR2:F4}; mean-profile fit {h.LambdaFitMeanProfile:F4}, R2 {h.FitR2MeanProfile:F4}), ov_cosine {string.Join(" ", h.OvCosine.Select(c => c?.ToString("F4", inv) ?? "n/a"))}"));
        }

        Console.WriteLine($"{"site (held-out)",-28} {"rmse_constrained",17} {"rmse_normalised",16} {"rmse_exact",11} {"r2_constrained",15} {"r2_normalised",14} {"r2_exact",9}");
        foreach (string site in result.ExactRmse.Keys)
        {
            double? Get(IReadOnlyDictionary<string, double?> d) => d.TryGetValue(site, out var v) ? v : null;
            Console.WriteLine(string.Create(inv,
                $"{site,-28} {Get(result.ConstrainedRmse),17:F5} {Get(result.ConstrainedNormalisedRmse),16:F5} {result.ExactRmse[site],11:F5} {Get(result.ConstrainedR2),15:F4} {Get(result.ConstrainedNormalisedR2),14:F4} {Get(result.ExactR2),9:F4}"));
        }
    }

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    private static AttentionResult ToRecord(AttentionReport report, string checkpoint)
    {
        var spectrum = report.Spectrum;
        int maxDistance = report.ContextLength - 1;
        Dictionary<string, double?> Rmse(string target, bool heldOut) => report.Probes.Where(p => p.Target == target)
            .ToDictionary(p => p.Site, p => Finite(Metrics.Rmse(heldOut ? p.HeldOut.Mse : p.InSample.Mse)), StringComparer.Ordinal);
        Dictionary<string, double?> R2(string target) => report.Probes.Where(p => p.Target == target)
            .ToDictionary(p => p.Site, p => Finite(p.HeldOut.R2), StringComparer.Ordinal);
        var heads = report.Heads.Select(h => new AttentionHeadResult(h.Layer, h.Head, Finite(h.Fit.Lambda), Finite(h.Fit.R2), h.OvCosine.Select(Finite).ToArray())
        {
            AttentionByDistance = h.Fit.MeanByDistance.Select(Finite).ToArray(),
            NormalisedProfile = h.Fit.Profile.Select(Finite).ToArray(),
            LambdaFitMeanProfile = Finite(h.Fit.MeanProfileLambda),
            FitR2MeanProfile = Finite(h.Fit.MeanProfileR2),
            OvBelief = h.OvBelief,
            OvCosineUncentred = h.OvCosineUncentred.Select(Finite).ToArray(),
            OvCosineConstrainedProbe = h.OvCosineConstrainedProbe?.Select(Finite).ToArray(),
            OvCosineThroughLn1 = h.OvCosineThroughLn1?.Select(Finite).ToArray(),
        }).ToList();
        return new AttentionResult(
            spectrum.Process.Name,
            spectrum.Eigenvalues.Select(v => new[] { v.Real, v.Imaginary }).ToArray(),
            spectrum.PredictedHeads(report.ContextLength),
            heads,
            Rmse(AttentionRunner.Constrained, heldOut: true),
            Rmse(AttentionRunner.Exact, heldOut: true))
        {
            Checkpoint = checkpoint,
            NCtx = report.ContextLength,
            Sequences = report.Sequences,
            Exhaustive = report.Exhaustive,
            EigenvalueGroups = spectrum.Groups.Select(g => new EigenvalueRecord([g.Value.Real, g.Value.Imaginary], g.AlgebraicMultiplicity,
                g.GeometricMultiplicity, g.Kind.ToString(), g.Relevant, g.HeadsFor(maxDistance))).ToList(),
            Stationary = spectrum.Stationary,
            Shifts = spectrum.Shifts,
            ConstrainedUndefined = spectrum.ExpansionUndefined,
            ConstrainedRmseInSample = Rmse(AttentionRunner.Constrained, heldOut: false),
            ExactRmseInSample = Rmse(AttentionRunner.Exact, heldOut: false),
            ConstrainedNormalisedRmse = Rmse(AttentionRunner.ConstrainedNormalised, heldOut: true),
            ConstrainedR2 = R2(AttentionRunner.Constrained),
            ConstrainedNormalisedR2 = R2(AttentionRunner.ConstrainedNormalised),
            ExactR2 = R2(AttentionRunner.Exact),
            Notes =
            [
                "eigenvalues: of T = sum_x T^(x) (Householder Hessenberg + Francis double-shift QR, float64), with multiplicity",
                "predicted_heads: per distinct eigenvalue reached by a one-token shift: 1 if 0<lambda<1, 2 if lambda<0, 2 or 3 per complex pair (3 once the rotation passes a half-turn within n_ctx), 0 for lambda=0",
                "lambda_fit, fit_r2: log A(q,q-n) = a_q + n log lambda over distances 1..n_ctx-1 of the probability-weighted mean hook_pattern, one intercept per query (undoes the softmax normaliser); only |lambda| can be fitted",
                "lambda_fit_mean_profile: the single-intercept fit to the mean attention by distance (biased low by the softmax normaliser)",
                "ov_cosine: cos(W_E[z] W_V W_O mapped through the linear part of the exact-belief probe of blocks.{l}.hook_resid_post, centred to sum 0 and centred across tokens with weights P(z|pi) (softmax weights sum to 1, so a common part is a constant offset), Delta_z = eta^(z) - pi)",
                "constrained_normalised_rmse: to pi + sum_k (sum_s lambda_k^(d-s) P_k Delta_(z_s)) / sum_(n<d) |lambda_k|^n, the softmax-normalised constrained beliefs",
                "constrained_rmse, exact_rmse: held-out RMSE of affine probes (probability-weighted, fit on 20% of sequences) to the constrained (first-order) and exact beliefs",
            ],
        };
    }

    private static AttentionView ToView(AttentionReport report, AttentionResult result, string checkpoint)
    {
        var spectrum = report.Spectrum;
        int maxDistance = report.ContextLength - 1;
        var eigenvalues = spectrum.Groups.Select(g => new EigenvalueView(g.Value.Real, g.Value.Imaginary, g.AlgebraicMultiplicity, g.Relevant, g.HeadsFor(maxDistance))).ToList();
        var heads = report.Heads.Select(h => new AttentionHeadView(h.Layer, h.Head, h.Fit.Lambda, h.Fit.R2, h.Fit.Profile, h.OvBelief, h.OvCosine)).ToList();
        var rmse = result.ExactRmse.Keys.Select(site => new RmseRow(site, result.ConstrainedRmse.TryGetValue(site, out var c) ? c : null, result.ExactRmse[site])
        {
            Normalised = result.ConstrainedNormalisedRmse.TryGetValue(site, out var nrm) ? nrm : null,
        }).ToList();
        return new AttentionView(spectrum.Process.Name, checkpoint, spectrum.Process.StateCount, eigenvalues, result.PredictedHeads, heads, spectrum.Stationary,
            spectrum.Shifts, rmse, spectrum.ExpansionUndefined)
        {
            Exact = report.ExactBeliefs.Data,
            Constrained = report.ConstrainedBeliefs?.Data,
            Weights = report.PrefixProbabilities,
            Layer0ToExact = report.Layer0ToExact.Data,
            Layer0ToConstrained = report.Layer0ToConstrained?.Data,
            Normalised = report.NormalisedConstrainedBeliefs?.Data,
            Layer0ToNormalised = report.Layer0ToNormalised?.Data,
        };
    }
}
