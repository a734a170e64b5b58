using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Analysis;
using BeliefLens.Core;
using BeliefLens.Torch;
using BeliefLens.Torch.Probing;
using static TorchSharp.torch;
using System.ComponentModel;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens bench probe [--models DIR] [--threads N]</c>: one affine fit on 590,490 × 64 rows (goal &lt; 0.3 s), and
/// probing all six Mess3 paper checkpoints with their forward passes (goal &lt; 30 s) when DIR/mess3 exists.
/// </summary>
public sealed class BenchProbe : BenchCommand<BenchProbe.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--models <DIR>")]
        [Description("the paper's checkpoints; DIR/mess3 is probed when it exists (default: ../shared/paper-models)")]
        public string? Models { get; init; }

        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: TorchSharp's choice)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        string? models = settings.Models;
        int? threads = settings.Threads;
        if (threads is int n)
        {
            set_num_threads(n);
        }

        var (best, median, _) = ProbeBenchmarks.AffineFit();
        var json = new JsonObject
        {
            ["affine_fit_rows"] = 590_490,
            ["affine_fit_features"] = 64,
            ["affine_fit_best_s"] = Math.Round(best.TotalSeconds, 4),
            ["affine_fit_median_s"] = Math.Round(median.TotalSeconds, 4),
        };

        string dir = Path.Combine(models ?? Path.Combine("..", "shared", "paper-models"), "mess3");
        if (Directory.Exists(dir))
        {
            var clock = Stopwatch.StartNew();
            var config = TransformerConfig.FromTrainConfigFile(Path.Combine(dir, "train_config.json"));
            var process = BuiltinProcesses.Mess3();
            var inputs = ProbeInputs.Build(process, config.NCtx);
            var options = ProbeOptions.Paper() with { Controls = false };
            var results = new JsonObject();
            var files = Directory.EnumerateFiles(dir, "*.pt")
                .OrderBy(f => long.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture)).ToList();
            foreach (string file in files)
            {
                using var model = Checkpoints.LoadModel(file, config, CPU);
                var site = ProbeRunner.Run(model, process, options, inputs: inputs).Sites[0];
                results[Path.GetFileNameWithoutExtension(file)] = site.InSample.Mse;
            }

            json["mess3_checkpoints"] = files.Count;
            json["mess3_probe_all_s"] = Math.Round(clock.Elapsed.TotalSeconds, 2);
            json["mess3_mse_insample"] = results;
        }
        else
        {
            json["mess3_probe_all_s"] = null;
            json["note"] = $"no paper checkpoints at {dir}; pass --models DIR";
        }

        Console.WriteLine(json.ToJsonString());
        return 0;
    }
}
