using System.Globalization;
using BeliefLens.Runs;
using TorchSharp;
using SummaryWriter = TorchSharp.Modules.SummaryWriter;

namespace BeliefLens.Torch;

/// <summary>
/// TensorBoard event files under DIR/tensorboard/, written with TorchSharp's own
/// <c>torch.utils.tensorboard.SummaryWriter</c>: training scalars live as metrics.jsonl lines are written, the probe's
/// scalars per checkpoint after each probe stage, and the report's figures as images. Each of the three kinds has its
/// own event file (suffix <c>.train</c>, <c>.probe</c>, <c>.report</c>) that is rebuilt from the run's records when
/// its stage (re)starts, so a resumed run never shows the steps a killed one logged twice. A sweep's folder works with
/// <c>tensorboard --logdir SWEEP/jobs</c>: every job is a run.
/// </summary>
public sealed class TensorBoardLog
{
    public const string TrainLoss = "train/loss";
    public const string LearningRate = "train/lr";
    public const string ValidationLoss = "validation/loss";
    public const string LossFloor = "validation/loss_floor";
    public const string LossOverFloor = "validation/loss_over_floor";
    public const string ProbeMsePrefix = "probe/mse_heldout/";
    public const string ProbeR2Prefix = "probe/r2_heldout/";

    private readonly SummaryWriter _writer;

    private TensorBoardLog(SummaryWriter writer) => _writer = writer;

    /// <summary>
    /// Starts the training event file: drops the previous one and replays the metrics.jsonl lines already kept (after a
    /// resume, those up to the checkpoint it resumes from).
    /// </summary>
    public static TensorBoardLog OpenTraining(RunWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var log = new TensorBoardLog(Open(writer, "train"));
        foreach (var line in writer.Directory.ReadMetrics())
        {
            log.Add(line);
        }

        return log;
    }

    /// <summary>Logs one metrics.jsonl line: training loss and learning rate; validation loss, floor and their ratio when evaluated.</summary>
    public void Add(MetricsLine line)
    {
        ArgumentNullException.ThrowIfNull(line);
        int step = Step(line.Step);
        _writer.add_scalar(TrainLoss, (float)line.TrainLoss, step);
        _writer.add_scalar(LearningRate, (float)line.Lr, step);
        if (line.ValLossMean is double validation)
        {
            _writer.add_scalar(ValidationLoss, (float)validation, step);
            if (line.LossFloor is { Count: > 0 } floor)
            {
                double mean = floor.Average();
                _writer.add_scalar(LossFloor, (float)mean, step);
                _writer.add_scalar(LossOverFloor, (float)(validation / mean), step);
            }
        }
    }

    /// <summary>Rewrites the probe event file from probes.jsonl: held-out MSE and R² of every site at every probed checkpoint.</summary>
    public static void WriteProbes(RunWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var summary = Open(writer, "probe");
        foreach (var line in writer.Directory.ReadProbeLines())
        {
            foreach (var site in line.Sites)
            {
                if (site.MseHeldout is double mse)
                {
                    summary.add_scalar(ProbeMsePrefix + site.Site, (float)mse, Step(line.Step));
                }

                if (site.R2Heldout is double r2)
                {
                    summary.add_scalar(ProbeR2Prefix + site.Site, (float)r2, Step(line.Step));
                }
            }
        }
    }

    /// <summary>Rewrites the report event file: each existing PNG as an image tagged <c>figures/NAME</c> at <paramref name="step"/>.</summary>
    public static void WriteFigures(RunWriter writer, long step, IEnumerable<string> pngPaths)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(pngPaths);
        var summary = Open(writer, "report");
        foreach (string png in pngPaths.Where(File.Exists))
        {
            summary.add_img("figures/" + Path.GetFileNameWithoutExtension(png), png, Step(step));
        }
    }

    private static SummaryWriter Open(RunWriter writer, string kind) =>
        torch.utils.tensorboard.SummaryWriter(writer.ClearTensorBoard(kind), filename_suffix: kind);

    // TensorBoard's steps are 64-bit, TorchSharp's writer takes int: runs beyond 2^31 steps are not expected.
    private static int Step(long step) => step <= int.MaxValue
        ? (int)step
        : throw new ArgumentOutOfRangeException(nameof(step), step.ToString(CultureInfo.InvariantCulture) + " steps exceed TensorBoard logging's int range.");
}
