using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using BeliefLens.Core;
using BeliefLens.Torch;
using static TorchSharp.torch;
using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace BeliefLens.Cli.Commands;

/// <summary>
/// <c>belieflens bench train [--threads N] [--steps N] [--batch N] [--attention explicit|fused]</c>: training throughput
/// of the paper's Mess3 model (batch 64, sampled sequences, AdamW), best thread count by default.
/// </summary>
public sealed class BenchTrain : BenchCommand<BenchTrain.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--threads <N>")]
        [Description("TorchSharp threads (default: the best of 1..cores, measured)")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1024)]
        public int? Threads { get; init; }

        [CommandOption("--steps <N>")]
        [Description("timed training steps")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 10_000_000)]
        [DefaultValue(1000)]
        public int Steps { get; init; } = 1000;

        [CommandOption("--batch <N>")]
        [Description("sequences per step")]
        [TypeConverter(typeof(IntValueConverter))]
        [Bounds(1, 1 << 20)]
        [DefaultValue(64)]
        public int Batch { get; init; } = 64;

        [CommandOption("--attention <KIND>")]
        [Description("explicit or fused")]
        [DefaultValue("explicit")]
        public string Attention { get; init; } = "explicit";

        public override ValidationResult Validate() => Attention is "fused" or "explicit"
            ? ValidationResult.Success()
            : ValidationResult.Error($"--attention: '{Attention}' is not valid; use fused or explicit.");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        int? threads = settings.Threads;
        int steps = settings.Steps;
        int batch = settings.Batch;
        string attention = settings.Attention;
        _fused = attention == "fused";

        int[] candidates = threads is int t ? [t] : Enumerable.Range(1, Math.Max(1, Environment.ProcessorCount)).ToArray();
        (int Threads, double StepsPerSecond) best = (candidates[0], 0);
        if (candidates.Length == 1)
        {
            best = (candidates[0], Measure(candidates[0], steps, batch));
        }
        else
        {
            // Two alternating time-boxed trials per thread count; a count's score is its worse trial, so one lucky
            // quiet moment on a shared machine does not pick a thread count that is slow under contention.
            var score = candidates.ToDictionary(n => n, _ => double.MaxValue);
            for (int round = 0; round < 2; round++)
            {
                foreach (int n in candidates)
                {
                    score[n] = Math.Min(score[n], Measure(n, Math.Max(50, steps / 5), batch, TimeSpan.FromSeconds(3)));
                }
            }

            int chosen = score.MaxBy(kv => kv.Value).Key;
            best = (chosen, Measure(chosen, steps, batch));
        }

        var json = new JsonObject
        {
            ["steps_per_s"] = Math.Round(best.StepsPerSecond, 2),
            ["tokens_per_s"] = Math.Round(best.StepsPerSecond * batch * 10, 1),
            ["threads"] = best.Threads,
            ["batch"] = batch,
            ["steps"] = steps,
        };
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    private static bool _fused = true;

    private static double Measure(int threads, int steps, int batch, TimeSpan? limit = null)
    {
        set_num_threads(threads);
        var process = BuiltinProcesses.Mess3();
        var config = TransformerConfig.PaperMess3();
        var options = new TrainingOptions(steps: steps, batchSize: batch, learningRate: 1e-3, warmupSteps: 0, lrSchedule: "constant", gradClip: 0);
        using var model = new HookedTransformer(config, CPU, seed: 0) { UseFusedAttention = _fused };
        using var optimizer = new FlatOptimizer(model, options);
        var source = new SequenceSource(process, "sampled", batch, config.NCtx + 1, new Rng(0));
        using var lossSum = zeros([], dtype: float32);
        void Step()
        {
            using var scope = NewDisposeScope();
            var tokens = source.Next(CPU);
            model.ZeroGrad();
            var loss = model.NextTokenLoss(tokens);
            loss.backward();
            optimizer.Step(1e-3);
            lossSum.add_(loss.detach());
        }

        for (int k = 0; k < 50; k++)
        {
            Step();
        }

        var clock = Stopwatch.StartNew();
        int done = 0;
        while (done < steps && (limit is null || clock.Elapsed < limit))
        {
            Step();
            done++;
        }

        _ = lossSum.item<float>(); // one sync at the end
        return done / clock.Elapsed.TotalSeconds;
    }
}
