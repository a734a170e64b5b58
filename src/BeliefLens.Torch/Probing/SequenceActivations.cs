using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace BeliefLens.Torch.Probing;

/// <summary>
/// Forward passes over arbitrary token sequences (not a <see cref="BeliefLens.Analysis.ProbeInputs"/> set): the
/// activations of one site and the per-position next-token losses, for the composite-process analyses (vary-one
/// activations, loss at the k-th event). Each chunk runs in its own dispose scope.
/// </summary>
public static class SequenceActivations
{
    /// <summary>Activations [N·length][d] (row = sequence·length + position) of <paramref name="site"/> for sequences [N][length].</summary>
    public static double[] At(HookedTransformer model, int[] tokens, int length, string site, int chunk = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokens);
        int n = tokens.Length / length, d = model.Config.DModel;
        var result = new double[(long)n * length * d];
        using var guard = no_grad();
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            using var scope = NewDisposeScope();
            var batch = tensor(Array.ConvertAll(tokens[(start * length)..((start + count) * length)], t => (long)t), [count, length], device: model.Device);
            using var cache = model.CacheActivations(batch, [site]);
            var values = cache[site].to(float32).cpu().contiguous();
            ReadOnlySpan<float> span = MemoryMarshal.Cast<byte, float>(values.bytes);
            for (int k = 0; k < span.Length; k++)
            {
                result[((long)start * length * d) + k] = span[k];
            }
        }

        return result;
    }

    /// <summary>
    /// Per-position loss −ln q(x_{t+1} | x_0..x_t) [N][n_ctx] of sequences [N][n_ctx+1] (inputs then the last target).
    /// </summary>
    public static double[] NextTokenLosses(HookedTransformer model, int[] sequences, int contextLength, int chunk = 256)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sequences);
        int length = contextLength + 1, n = sequences.Length / length;
        var result = new double[(long)n * contextLength];
        using var guard = no_grad();
        for (int start = 0; start < n; start += chunk)
        {
            int count = Math.Min(chunk, n - start);
            using var scope = NewDisposeScope();
            var all = tensor(Array.ConvertAll(sequences[(start * length)..((start + count) * length)], t => (long)t), [count, length], device: model.Device);
            var inputs = all.narrow(1, 0, contextLength);
            var targets = all.narrow(1, 1, contextLength).unsqueeze(-1);
            var logq = model.forward(inputs).log_softmax(-1).gather(-1, targets).squeeze(-1); // [count, P]
            var values = (-logq).to(float64).cpu().contiguous();
            MemoryMarshal.Cast<byte, double>(values.bytes).CopyTo(result.AsSpan(start * contextLength, count * contextLength));
        }

        return result;
    }
}
