using BeliefLens.Runs;
using BeliefLens.Torch;
using Tensorboard;

namespace BeliefLens.Cli.Tests.Run;

/// <summary>The TensorBoard event files of a run, read back record by record with Google.Protobuf and checked against the run's records.</summary>
public sealed class TensorBoardTests(FinishedTinyRun run) : IClassFixture<FinishedTinyRun>
{
    private RunDirectory Directory => new(run.Directory);

    [Fact]
    public void TrainingEventsHoldTheMetricsLines()
    {
        var events = ReadEvents(Single("train"));
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        var scalars = Scalars(events);
        var metrics = Directory.ReadMetrics();
        Assert.Equal(metrics.Select(m => (m.Step, (float)m.TrainLoss)), scalars[TensorBoardLog.TrainLoss]);
        Assert.Equal(metrics.Select(m => (m.Step, (float)m.Lr)), scalars[TensorBoardLog.LearningRate]);
        var evaluated = metrics.Where(m => m.ValLossMean is not null).ToList();
        Assert.NotEmpty(evaluated);
        Assert.Equal(evaluated.Select(m => (m.Step, (float)m.ValLossMean!.Value)), scalars[TensorBoardLog.ValidationLoss]);
        Assert.Equal(evaluated.Select(m => (m.Step, (float)m.LossFloor!.Average())), scalars[TensorBoardLog.LossFloor]);
        Assert.Equal(evaluated.Select(m => (m.Step, (float)(m.ValLossMean!.Value / m.LossFloor!.Average()))), scalars[TensorBoardLog.LossOverFloor]);

        // The last validation is the run's final one, and lies above the floor.
        var (lastStep, ratio) = scalars[TensorBoardLog.LossOverFloor][^1];
        Assert.Equal(Directory.ReadSummary().Steps, lastStep);
        Assert.True(ratio > 1f);
    }

    [Fact]
    public void ProbeEventsHoldHeldOutMseAndR2PerCheckpointAndSite()
    {
        var scalars = Scalars(ReadEvents(Single("probe")));
        var lines = Directory.ReadProbeLines();
        Assert.True(lines.Count >= 2);
        foreach (string site in lines[^1].Sites.Select(s => s.Site))
        {
            var expected = lines.Select(l => (l.Step, Site: l.Sites.FirstOrDefault(s => s.Site == site))).Where(x => x.Site is not null).ToList();
            Assert.Equal(expected.Select(x => (x.Step, (float)x.Site!.MseHeldout!.Value)), scalars[TensorBoardLog.ProbeMsePrefix + site]);
            Assert.Equal(expected.Select(x => (x.Step, (float)x.Site!.R2Heldout!.Value)), scalars[TensorBoardLog.ProbeR2Prefix + site]);
        }
    }

    [Fact]
    public void ReportEventsHoldTheEmergenceFigureAsAPng()
    {
        var images = ReadEvents(Single("report")).Where(e => e.Summary is not null).SelectMany(e => e.Summary.Value).Where(v => v.Image is not null).ToList();
        var emergence = Assert.Single(images, v => v.Tag == "figures/emergence");
        Assert.Contains(images, v => v.Tag == "figures/beliefs-true-vs-predicted");
        byte[] png = emergence.Image.EncodedImageString.ToByteArray();
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        using var bitmap = SkiaSharp.SKBitmap.Decode(png);
        Assert.Equal(emergence.Image.Width, bitmap.Width);
        Assert.Equal(emergence.Image.Height, bitmap.Height);
    }

    [Fact]
    public void AResumedRunLogsEachStepOnce()
    {
        // Cancelled after step 20 (metrics logged to 20, last checkpoint 12), then resumed from 12: the steps 13..20 the
        // first attempt logged are not in the event files twice, and they match the uninterrupted run's.
        using var temp = new TempDir();
        string dir = temp.Combine("run");
        using var cancel = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            BeliefLens.Cli.Run.RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, new RecordingObserver(cancel, cancelStep: 20), cancel.Token));
        BeliefLens.Cli.Run.RunPipeline.Execute(TinyExperiment.Create(), dir, force: false, new RecordingObserver(), CancellationToken.None);

        var resumed = new RunDirectory(dir);
        var scalars = Scalars(ReadEvents(Single(resumed, "train")));
        var steps = scalars[TensorBoardLog.TrainLoss].Select(s => s.Step).ToList();
        Assert.Equal(steps.Distinct().Order(), steps);
        Assert.Equal(Scalars(ReadEvents(Single("train")))[TensorBoardLog.TrainLoss], scalars[TensorBoardLog.TrainLoss]);
    }

    private string Single(string kind) => Single(Directory, kind);

    private static string Single(RunDirectory directory, string kind) =>
        Assert.Single(System.IO.Directory.GetFiles(directory.TensorBoardPath, "events.out.tfevents.*." + kind));

    private static Dictionary<string, List<(long Step, float Value)>> Scalars(IEnumerable<Event> events) =>
        events.Where(e => e.Summary is not null)
            .SelectMany(e => e.Summary.Value.Where(v => v.ValueCase == Summary.Types.Value.ValueOneofCase.SimpleValue).Select(v => (v.Tag, e.Step, v.SimpleValue)))
            .GroupBy(x => x.Tag)
            .ToDictionary(g => g.Key, g => g.Select(x => (x.Step, x.SimpleValue)).ToList());

    /// <summary>TFRecord framing: u64 length, masked CRC-32C of the length, the Event bytes, masked CRC-32C of the bytes.</summary>
    private static List<Event> ReadEvents(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        var events = new List<Event>();
        int at = 0;
        while (at < bytes.Length)
        {
            long length = BitConverter.ToInt64(bytes, at);
            Assert.Equal(MaskedCrc(bytes.AsSpan(at, 8)), BitConverter.ToUInt32(bytes, at + 8));
            var data = bytes.AsSpan(at + 12, (int)length);
            Assert.Equal(MaskedCrc(data), BitConverter.ToUInt32(bytes, at + 12 + (int)length));
            events.Add(Event.Parser.ParseFrom(data.ToArray()));
            at += 12 + (int)length + 4;
        }

        Assert.Equal(bytes.Length, at);
        return events;
    }

    private static uint MaskedCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
            }
        }

        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
    }
}
