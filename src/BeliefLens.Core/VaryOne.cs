namespace BeliefLens.Core;

/// <summary>
/// Vary-one generation for an independent product: every factor's token stream is frozen but one, which is resampled.
/// Activations that differ within a group then differ only through that factor.
/// </summary>
public static class VaryOne
{
    /// <summary>
    /// <paramref name="bases"/> base sequences of <paramref name="length"/> joint tokens, each repeated with
    /// <paramref name="variants"/> fresh streams of factor <paramref name="factor"/>: tokens [bases·variants][length]
    /// and, per (row, position), the group id base·length + position that the analysis centres on.
    /// </summary>
    public static (int[] Tokens, int[] Group) Generate(Process product, int factor, int bases, int variants, int length, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(product);
        ArgumentNullException.ThrowIfNull(rng);
        var composite = product.Composite is { Kind: CompositeKind.Product, Structure: ProductStructure.Independent } c
            ? c
            : throw new BeliefLensInputException($"process: vary-one generation needs an independent product; {product.Name} is not one.");
        if ((uint)factor >= (uint)composite.PartCount)
        {
            throw new BeliefLensInputException($"factor: {factor} is not in 0..{composite.PartCount - 1}.");
        }

        int n = composite.PartCount;
        var samplers = composite.Parts.Select(p => new ProcessSampler(p)).ToArray();
        var streams = new int[n][];
        var tokens = new int[bases * variants * length];
        var group = new int[bases * variants * length];
        var digits = new int[n];
        for (int b = 0; b < bases; b++)
        {
            for (int f = 0; f < n; f++)
            {
                streams[f] = new int[length];
                samplers[f].Sample(rng, streams[f], 1, length);
            }

            for (int v = 0; v < variants; v++)
            {
                samplers[factor].Sample(rng, streams[factor], 1, length);
                int row = (b * variants) + v;
                for (int t = 0; t < length; t++)
                {
                    for (int f = 0; f < n; f++)
                    {
                        digits[f] = streams[f][t];
                    }

                    tokens[(row * length) + t] = composite.JointToken(digits);
                    group[(row * length) + t] = (b * length) + t;
                }
            }
        }

        return (tokens, group);
    }
}
