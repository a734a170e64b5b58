namespace BeliefLens.Core;

/// <summary>
/// Draws token sequences from a process, starting from its initial belief. HMMs sample hidden states
/// directly; GHMMs sample from the belief, since their states carry no probabilities.
/// </summary>
public sealed class ProcessSampler
{
    private readonly Process _process;
    private readonly double[] _cumulativeInitial;

    // For state i: cumulative P(x, j | i) over the V·S outcomes (x major, j minor).
    private readonly double[] _cumulativeEdges;

    public ProcessSampler(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        _process = process;
        int s = process.StateCount;
        int v = process.VocabSize;
        _cumulativeInitial = new double[s];
        _cumulativeEdges = new double[s * v * s];
        if (process.Kind == ProcessKind.Hmm)
        {
            double acc = 0;
            for (int i = 0; i < s; i++)
            {
                acc += process.InitialBelief[i];
                _cumulativeInitial[i] = acc;
            }

            for (int i = 0; i < s; i++)
            {
                acc = 0;
                for (int x = 0; x < v; x++)
                {
                    for (int j = 0; j < s; j++)
                    {
                        acc += process.T(x, i, j);
                        _cumulativeEdges[(i * v * s) + (x * s) + j] = acc;
                    }
                }
            }
        }
    }

    public Process Process => _process;

    /// <summary>Fills <paramref name="destination"/> (row-major [batch][length]) with independent sequences.</summary>
    public void Sample(Rng rng, Span<int> destination, int batch, int length)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (destination.Length < batch * length)
        {
            throw new ArgumentException("destination is smaller than batch × length.", nameof(destination));
        }

        for (int b = 0; b < batch; b++)
        {
            var row = destination.Slice(b * length, length);
            if (_process.Kind == ProcessKind.Hmm)
            {
                SampleHmm(rng, row);
            }
            else
            {
                SampleFromBeliefs(rng, row);
            }
        }
    }

    private void SampleHmm(Rng rng, Span<int> row)
    {
        int s = _process.StateCount;
        int v = _process.VocabSize;
        int state = Draw(_cumulativeInitial, 0, s, rng.NextDouble());
        for (int t = 0; t < row.Length; t++)
        {
            int outcome = Draw(_cumulativeEdges, state * v * s, v * s, rng.NextDouble());
            row[t] = outcome / s;
            state = outcome % s;
        }
    }

    private void SampleFromBeliefs(Rng rng, Span<int> row)
    {
        int v = _process.VocabSize;
        var belief = (double[])_process.InitialBelief.Clone();
        var next = new double[_process.StateCount];
        var p = new double[v];
        for (int t = 0; t < row.Length; t++)
        {
            BeliefMath.NextTokenDistribution(_process, belief, p);
            double u = rng.NextDouble();
            int chosen = v - 1;
            for (int x = 0; x < v; x++)
            {
                if (u < p[x])
                {
                    chosen = x;
                    break;
                }

                u -= p[x];
            }

            while (p[chosen] == 0)
            {
                chosen--;
            }

            row[t] = chosen;
            BeliefMath.Update(_process, belief, chosen, next);
            (belief, next) = (next, belief);
        }
    }

    private static int Draw(double[] cumulative, int offset, int count, double u)
    {
        double target = u * cumulative[offset + count - 1];
        for (int k = 0; k < count - 1; k++)
        {
            if (target < cumulative[offset + k])
            {
                return k;
            }
        }

        return count - 1;
    }
}
