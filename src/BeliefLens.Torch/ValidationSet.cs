using BeliefLens.Core;
using TorchSharp;
using static TorchSharp.torch;

namespace BeliefLens.Torch;

/// <summary>
/// Validation inputs of length n_ctx with their weights and the exact next-token distribution after each prefix.
/// Exact when the sequence space is small enough (every nonzero sequence, weighted by its probability), otherwise
/// a fixed seeded sample (equal weights). The loss at position t is Σ_n w_n Σ_x P(x | x_0..x_t) (−log q(x | x_0..x_t)),
/// so its minimum over models is this set's floor (<see cref="LossFloor"/>): for the exact set H(X_{t+1} | X_0..X_t),
/// the myopic entropy h(t+2). One forward pass over the length-n_ctx inputs scores every position at once.
/// <para>Mid-run, <see cref="Estimate"/> scores a fixed seeded sample of <c>samples</c> sequences instead when the full
/// set is larger: the sample's excess over its own floor (Σ KL(P‖q) / M, never negative) added to the full set's floor,
/// an unbiased estimate of the full loss whose noise is that of the small excess, not of the entropy.</para>
/// </summary>
public sealed class ValidationSet : IDisposable
{
    /// <summary>Sequences per forward pass: a pass holds every block's intermediates (about 0.2 MB per sequence of the paper's Mess3 model).</summary>
    public const int DefaultChunk = 256;

    private readonly Part _full;
    private readonly Part? _sample;

    private ValidationSet(Part full, Part? sample, bool exact)
    {
        (_full, _sample, IsExact) = (full, sample, exact);
    }

    /// <summary>Loss floor per position, nats (float64).</summary>
    public double[] Floor => _full.Floor;

    public double FloorMean => Floor.Average();

    public bool IsExact { get; }

    /// <summary>Sequences <see cref="Evaluate"/> scores.</summary>
    public long Count => _full.Count;

    /// <summary>Sequences <see cref="Estimate"/> scores (fewer than <see cref="Count"/> when it samples).</summary>
    public long EstimateCount => (_sample ?? _full).Count;

    public static ValidationSet Create(Process process, int nCtx, long exactLimit, int samples, ulong seed, Device device)
    {
        ArgumentNullException.ThrowIfNull(process);
        double bound = Math.Pow(process.VocabSize, nCtx);
        bool exact = bound <= exactLimit;
        var sampleRng = new Rng(seed ^ 0x7A11_DA7EUL);
        Part full;
        if (exact)
        {
            var tree = BeliefTree.Enumerate(process, nCtx);
            int first = tree.DepthStart[nCtx], count = tree.DepthStart[nCtx + 1] - first;
            var tokens = new int[count * nCtx];
            var weights = new double[count];
            for (int k = 0; k < count; k++)
            {
                tree.Prefix(first + k).CopyTo(tokens, k * nCtx);
                weights[k] = Math.Exp(tree.LogProbability[first + k]);
            }

            full = Part.Build(process, nCtx, tokens, weights, device);
        }
        else
        {
            full = Sampled(process, nCtx, samples, sampleRng, device);
        }

        // The mid-run sample: drawn from the process like training data, so equal weights estimate the full weighted sum.
        var sample = exact && samples < full.Count ? Sampled(process, nCtx, samples, sampleRng, device) : null;
        return new ValidationSet(full, sample, exact);
    }

    private static Part Sampled(Process process, int nCtx, int count, Rng rng, Device device)
    {
        var tokens = new int[count * nCtx];
        new ProcessSampler(process).Sample(rng, tokens, count, nCtx);
        return Part.Build(process, nCtx, tokens, Enumerable.Repeat(1.0, count).ToArray(), device);
    }

    /// <summary>Validation cross-entropy per position over the whole set (exact when <see cref="IsExact"/>), nats.</summary>
    public double[] Evaluate(ISequenceModel model, int chunk = DefaultChunk) => _full.CrossEntropy(model, chunk);

    /// <summary>
    /// Cheap mid-run estimate of <see cref="Evaluate"/> per position: on the fixed sample, the floor plus the sample's
    /// excess over its own floor (<see cref="Evaluate"/> itself when the whole set is no larger than the sample).
    /// </summary>
    public double[] Estimate(ISequenceModel model, int chunk = DefaultChunk)
    {
        if (_sample is null)
        {
            return Evaluate(model, chunk);
        }

        double[] crossEntropy = _sample.CrossEntropy(model, chunk);
        return crossEntropy.Select((ce, t) => Floor[t] + Math.Max(0, ce - _sample.Floor[t])).ToArray();
    }

    public void Dispose()
    {
        _full.Dispose();
        _sample?.Dispose();
    }

    /// <summary>Inputs [N, P] int64, soft targets [N, P, V] float32 P(next | prefix), weights [N] summing to 1, and their floor.</summary>
    private sealed class Part : IDisposable
    {
        private readonly Tensor _inputs;
        private readonly Tensor _targets;
        private readonly Tensor _weights;

        private Part(Tensor inputs, Tensor targets, Tensor weights, double[] floor) =>
            (_inputs, _targets, _weights, Floor) = (inputs, targets, weights, floor);

        public double[] Floor { get; }

        public long Count => _inputs.shape[0];

        public static Part Build(Process process, int nCtx, int[] tokens, double[] weights, Device device)
        {
            int n = weights.Length, v = process.VocabSize, s = process.StateCount;
            double total = weights.Sum();
            var inputs = new long[n * nCtx];
            var targets = new float[(long)n * nCtx * v];
            var normalised = new float[n];
            var floor = new double[nCtx];
            var belief = new double[s];
            var next = new double[s];
            var p = new double[v];
            for (int k = 0; k < n; k++)
            {
                double w = weights[k] / total;
                normalised[k] = (float)w;
                Array.Copy(process.InitialBelief, belief, s);
                for (int t = 0; t < nCtx; t++)
                {
                    int token = tokens[(k * nCtx) + t];
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

            return new Part(
                tensor(inputs, [n, nCtx], device: device),
                tensor(targets, [n, nCtx, v], device: device),
                tensor(normalised, [n], device: device),
                floor);
        }

        /// <summary>Σ_n w_n CE per position, nats; each chunk's forward pass in its own dispose scope.</summary>
        public double[] CrossEntropy(ISequenceModel model, int chunk)
        {
            ArgumentNullException.ThrowIfNull(model);
            using var guard = no_grad();
            int nCtx = (int)_inputs.shape[1];
            using var total = zeros([nCtx], dtype: float64, device: _inputs.device);
            for (long start = 0; start < Count; start += chunk)
            {
                using (NewDisposeScope())
                {
                    long length = Math.Min(chunk, Count - start);
                    var logq = model.forward(_inputs.narrow(0, start, length)).log_softmax(-1); // [n, P, V]
                    var perSequence = -(logq * _targets.narrow(0, start, length)).sum(-1); // [n, P]
                    // Careful: sum(0) would bind to sum(ScalarType) and truncate to bytes; name the dim.
                    total.add_((perSequence * _weights.narrow(0, start, length).unsqueeze(1)).sum(dim: 0).to(float64));
                }

                NativeHeap.AfterChunk();
            }

            NativeHeap.Trim();

            return total.cpu().data<double>().ToArray();
        }

        public void Dispose()
        {
            _inputs.Dispose();
            _targets.Dispose();
            _weights.Dispose();
        }
    }
}
