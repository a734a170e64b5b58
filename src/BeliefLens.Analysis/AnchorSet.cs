using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>
/// The quantum paper's probe anchors (Riechers, Elliott &amp; Shai 2025, App. F): every nonzero-probability prefix w of
/// length 1..n_ctx, weighted P(w)/n_ctx, with its exact belief as the target. The paper builds them from the
/// positions of all length-n_ctx sequences (weight P(sequence)/n_ctx each) and merges duplicate prefixes by summing
/// their weights; that sum is P(w)/n_ctx, so enumerating each prefix once with that weight is the merged set.
/// The weights sum to 1. With n_ctx 8: 9,840 anchors for Mess3, 87,380 for the Bloch walk, 510 for FRDN.
/// The feature for an anchor is the model's activation at the prefix's last position.
/// </summary>
public sealed class AnchorSet
{
    private readonly BeliefTree _tree;

    private AnchorSet(BeliefTree tree, double[] weights, DenseMatrix beliefs)
    {
        _tree = tree;
        Weights = weights;
        Beliefs = beliefs;
    }

    public Process Process => _tree.Process;

    public int ContextLength => _tree.Depth;

    public int Count => Weights.Length;

    /// <summary>P(w)/n_ctx per anchor, in breadth-first order (all length-1 prefixes first).</summary>
    public double[] Weights { get; }

    /// <summary>The exact belief of each anchor under <see cref="Process"/>, [Count][S].</summary>
    public DenseMatrix Beliefs { get; }

    /// <summary>The tokens of anchor <paramref name="anchor"/>, oldest first.</summary>
    public int[] Prefix(int anchor) => _tree.Prefix(anchor + 1);

    /// <summary>Length of anchor <paramref name="anchor"/>'s prefix.</summary>
    public int Length(int anchor)
    {
        int node = anchor + 1;
        int d = 1;
        while (_tree.DepthStart[d + 1] <= node)
        {
            d++;
        }

        return d;
    }

    /// <summary>
    /// The anchors that are full-length (n_ctx) prefixes, as token sequences [sequences][n_ctx]: running a causal model
    /// on these yields every anchor, at position <see cref="Length"/>−1 of <see cref="SequenceOf"/>.
    /// </summary>
    public int[][] Sequences()
    {
        int start = _tree.DepthStart[ContextLength], end = _tree.DepthStart[ContextLength + 1];
        return Enumerable.Range(start, end - start).Select(_tree.Prefix).ToArray();
    }

    /// <summary>For each anchor, the index (into <see cref="Sequences"/>) of a full-length sequence it begins.</summary>
    public int[] SequenceOf()
    {
        int start = _tree.DepthStart[ContextLength];
        var descendant = new int[_tree.Count];
        for (int node = _tree.Count - 1; node >= 1; node--)
        {
            if (node >= start)
            {
                descendant[node] = node - start;
            }

            descendant[_tree.Parent[node]] = descendant[node];
        }

        return descendant.AsSpan(1).ToArray();
    }

    public static AnchorSet Create(Process process, int contextLength)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (contextLength < 1)
        {
            throw new BeliefLensInputException($"n_ctx: {contextLength} is invalid; the anchor set needs a context length of 1 or more.");
        }

        var tree = BeliefTree.Enumerate(process, contextLength);
        int count = tree.Count - 1;
        int s = process.StateCount;
        var weights = new double[count];
        for (int a = 0; a < count; a++)
        {
            weights[a] = Math.Exp(tree.LogProbability[a + 1]) / contextLength;
        }

        var beliefs = tree.Beliefs.AsSpan(s, count * s).ToArray();
        return new AnchorSet(tree, weights, new DenseMatrix(beliefs, count, s));
    }

    /// <summary>
    /// The belief of every anchor's prefix under <paramref name="model"/>, another process over the same tokens (e.g. the
    /// <see cref="MarkovApproximation"/>): updated along the prefix tree by <see cref="BeliefMath.Update"/>. Where
    /// <paramref name="model"/> gives a token probability zero (it dropped a rare transition), its belief restarts from
    /// its initial belief conditioned on that token; <paramref name="restarts"/> counts those anchors.
    /// </summary>
    public DenseMatrix BeliefsUnder(Process model, out int restarts)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.VocabSize != Process.VocabSize)
        {
            throw new BeliefLensInputException($"model: {model.Name} has {model.VocabSize} tokens but the anchors' process has {Process.VocabSize}.");
        }

        int s = model.StateCount;
        var all = new double[_tree.Count * s];
        model.InitialBelief.AsSpan().CopyTo(all);
        restarts = 0;
        for (int node = 1; node < _tree.Count; node++)
        {
            int token = _tree.Token[node];
            var target = all.AsSpan(node * s, s);
            if (BeliefMath.Update(model, all.AsSpan(_tree.Parent[node] * s, s), token, target) == 0)
            {
                restarts++;
                if (BeliefMath.Update(model, model.InitialBelief, token, target) == 0)
                {
                    throw new BeliefLensInputException($"model: {model.Name} gives token {token} probability zero from its initial belief; it cannot describe these anchors.");
                }
            }
        }

        return new DenseMatrix(all.AsSpan(s).ToArray(), _tree.Count - 1, s);
    }
}
