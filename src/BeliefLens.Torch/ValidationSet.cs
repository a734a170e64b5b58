using BeliefLens.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// Validation inputs of length n_ctx with their weights and the exact next-token distribution after each prefix.
/// Exact when the sequence space is small enough (every nonzero sequence, weighted by its probability), otherwise
/// a fixed seeded sample (equal weights). The loss at position t is Σ_n w_n Σ_x P(x | x_0..x_t) (−log q(x | x_0..x_t)),
/// so its minimum over models is this set's floor (<see cref="LossFloor"/>): for the exact set H(X_{t+1} | X_0..X_t),
/// the myopic entropy h(t+2).
/// </summary>
public sealed class ValidationSet : IDisposable
{
    private readonly Tensor _inputs;   // [N, P] int64
    private readonly Tensor _targets;  // [N, P, V] float32, P(next token | prefix)
    private readonly Tensor _weights;  // [N] float32, sums to 1

    private ValidationSet(Tensor inputs, Tensor targets, Tensor weights, double[] floor, bool exact)
    {
        (_inputs, _targets, _weights, Floor, IsExact) = (inputs, targets, weights, floor, exact);
    }

    /// <summary>Loss floor per position, nats (float64).</summary>
    public double[] Floor { get; }

    public double FloorMean => Floor.Average();

    public bool IsExact { get; }

    public long Count => _inputs.shape[0];

    public static ValidationSet Create(Process process, int nCtx, long exactLimit, int samples, ulong seed, Device device)
    {
        ArgumentNullException.ThrowIfNull(process);
        int v = process.VocabSize, s = process.StateCount;
        double bound = Math.Pow(v, nCtx);
        List<int[]> sequences;
        List<double> weights;
        bool exact = bound <= exactLimit;
        if (exact)
        {
            var tree = BeliefTree.Enumerate(process, nCtx);
            sequences = [];
            weights = [];
            for (int leaf = tree.DepthStart[nCtx]; leaf < tree.DepthStart[nCtx + 1]; leaf++)
            {
                sequences.Add(tree.Prefix(leaf));
                weights.Add(Math.Exp(tree.LogProbability[leaf]));
            }
        }
        else
        {
            var rng = new Rng(seed ^ 0x7A11_DA7EUL);
            var sampler = new ProcessSampler(process);
            var flat = new int[samples * nCtx];
            sampler.Sample(rng, flat, samples, nCtx);
            sequences = Enumerable.Range(0, samples).Select(k => flat.AsSpan(k * nCtx, nCtx).ToArray()).ToList();
            weights = Enumerable.Repeat(1.0 / samples, samples).ToList();
        }

        int n = sequences.Count;
        double total = weights.Sum();
        var inputs = new long[n * nCtx];
        var targets = new float[(long)n * nCtx * v];
        var floor = new double[nCtx];
        var belief = new double[s];
        var next = new double[s];
        var p = new double[v];
        for (int k = 0; k < n; k++)
        {
            double w = weights[k] / total;
            weights[k] = w;
            Array.Copy(process.InitialBelief, belief, s);
            for (int t = 0; t < nCtx; t++)
            {
                int token = sequences[k][t];
                inputs[(k * nCtx) + t] = token;
                BeliefMath.Update(process, belief, token, next);
                (belief, next) = (next, belief);
                BeliefMath.NextTokenDistribution(process, belief, p);
                for (int x = 0; x < v; x++)
                {
                    targets[(((long)k * nCtx) + t) * v + x] = (float)p[x];
                }

                LossFloor.Add(floor, t, w, p);
            }
        }

        return new ValidationSet(
            tensor(inputs, [n, nCtx], device: device),
            tensor(targets, [n, nCtx, v], device: device),
            tensor(weights.Select(x => (float)x).ToArray(), [n], device: device),
            floor,
            exact);
    }

    /// <summary>Validation cross-entropy per position, nats.</summary>
    public double[] Evaluate(HookedTransformer model, int chunk = 8192)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var scope = NewDisposeScope();
        using var guard = no_grad();
        int nCtx = (int)_inputs.shape[1];
        var total = zeros([nCtx], dtype: float64, device: _inputs.device);
        for (long start = 0; start < Count; start += chunk)
        {
            long length = Math.Min(chunk, Count - start);
            var logq = model.forward(_inputs.narrow(0, start, length)).log_softmax(-1); // [n, P, V]
            var perSequence = -(logq * _targets.narrow(0, start, length)).sum(-1); // [n, P]
            // Careful: sum(0) would bind to sum(ScalarType) and truncate to bytes; name the dim.
            total.add_((perSequence * _weights.narrow(0, start, length).unsqueeze(1)).sum(dim: 0).to(float64));
        }

        return total.cpu().data<double>().ToArray();
    }

    public void Dispose()
    {
        _inputs.Dispose();
        _targets.Dispose();
        _weights.Dispose();
    }
}
