using BeliefLens.Core;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// Training batches [B, n_ctx+1] int64 from a seeded generator whose state is checkpointed. "sampled" draws fresh
/// sequences from the process starting at π; "exact" (the paper's scheme) draws whole sequences from the exact
/// distribution over all sequences of that length.
/// </summary>
public sealed class SequenceSource
{
    private readonly ProcessSampler? _sampler;
    private readonly int[]? _table;          // exact scheme: all sequences, flat [N][L]
    private readonly double[]? _cumulative;  // exact scheme: cumulative probabilities [N]
    private readonly int[] _buffer;
    private readonly long[] _longBuffer;
    private readonly int _batch;
    private readonly int _length;

    public SequenceSource(Process process, string scheme, int batch, int length, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(process);
        Rng = rng;
        (_batch, _length) = (batch, length);
        _buffer = new int[batch * length];
        _longBuffer = new long[batch * length];
        if (scheme == "exact")
        {
            if (Math.Pow(process.VocabSize, length) > 20_000_000)
            {
                throw new BeliefLensInputException(
                    $"data: 'exact' needs all {process.VocabSize}^{length} sequences, too many for memory; use data 'sampled' or a smaller n_ctx.");
            }

            var tree = BeliefTree.Enumerate(process, length);
            int start = tree.DepthStart[length], end = tree.DepthStart[length + 1];
            _table = new int[(end - start) * length];
            _cumulative = new double[end - start];
            double acc = 0;
            for (int k = start; k < end; k++)
            {
                tree.Prefix(k).CopyTo(_table, (k - start) * length);
                acc += Math.Exp(tree.LogProbability[k]);
                _cumulative[k - start] = acc;
            }
        }
        else
        {
            _sampler = new ProcessSampler(process);
        }
    }

    public Rng Rng { get; set; }

    /// <summary>The next batch on <paramref name="device"/>: [B, n_ctx+1] int64.</summary>
    public Tensor Next(Device device)
    {
        if (_sampler is not null)
        {
            _sampler.Sample(Rng, _buffer, _batch, _length);
        }
        else
        {
            double total = _cumulative![^1];
            for (int b = 0; b < _batch; b++)
            {
                int index = Array.BinarySearch(_cumulative, Rng.NextDouble() * total);
                index = Math.Min(index < 0 ? ~index : index, _cumulative.Length - 1);
                Array.Copy(_table!, index * _length, _buffer, b * _length, _length);
            }
        }

        for (int k = 0; k < _buffer.Length; k++)
        {
            _longBuffer[k] = _buffer[k];
        }

        return tensor(_longBuffer, [_batch, _length], device: device);
    }
}
