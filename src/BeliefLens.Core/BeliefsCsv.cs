using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace BeliefLens.Core;

/// <summary>
/// The CSV of <c>belieflens beliefs</c>: header <c>prefix,probability,belief_0,…</c>, then one row per prefix of a
/// <see cref="BeliefTree"/> in its order; prefix tokens are decimal token indices separated by single spaces (empty for
/// the root); numbers in round-trip ("R") precision; <c>\n</c> line ends, UTF-8 without BOM. Outside checks depend
/// on this exact format, and <see cref="MaxBytes"/> bounds its size from the same rules.
/// </summary>
public static class BeliefsCsv
{
    /// <summary>The longest "R" text of a double: sign, 17 significant digits, point, exponent <c>E-308</c>.</summary>
    public const int MaxNumberBytes = RoundTripFormat.MaxBytes;

    /// <summary>Default refusal threshold of <c>beliefs</c>, in GB (10^9 bytes).</summary>
    public const double DefaultLimitGigabytes = 2;

    /// <summary>
    /// The companion CSV of a composite process (the same rows, in the same order): <c>prefix</c>, then for a mixture the
    /// meta-belief <c>meta_c</c> (each component's posterior mass), then each part's own belief <c>component{c}_{state}</c>
    /// or <c>factor{f}_{state}</c> (see <see cref="CompositeStructure.PartBelief"/>); numbers in round-trip precision.
    /// </summary>
    public static void WriteParts(BeliefTree tree, TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(writer);
        var process = tree.Process;
        var composite = process.Composite ?? throw new ArgumentException("the process is not a mixture or product.", nameof(tree));
        bool mixture = composite.Kind == CompositeKind.Mixture;
        var header = new StringBuilder("prefix");
        if (mixture)
        {
            for (int c = 0; c < composite.PartCount; c++)
            {
                header.Append(",meta_").Append(c.ToString(CultureInfo.InvariantCulture));
            }
        }

        for (int k = 0; k < composite.PartCount; k++)
        {
            foreach (string state in composite.Parts[k].StateNames)
            {
                header.Append(',').Append(composite.PartLabel).Append(k.ToString(CultureInfo.InvariantCulture)).Append('_').Append(state.Replace(',', ';'));
            }
        }

        writer.Write(header.Append('\n').ToString());
        var row = new StringBuilder();
        for (int r = 0; r < tree.Count; r++)
        {
            row.Clear();
            row.AppendJoin(' ', tree.Prefix(r));
            var belief = tree.Belief(r);
            if (mixture)
            {
                foreach (double m in composite.MetaBelief(belief, process.Tau))
                {
                    row.Append(',').Append(m.ToString("R", CultureInfo.InvariantCulture));
                }
            }

            for (int k = 0; k < composite.PartCount; k++)
            {
                foreach (double b in composite.PartBelief(belief, process.Tau, k))
                {
                    row.Append(',').Append(b.ToString("R", CultureInfo.InvariantCulture));
                }
            }

            writer.Write(row.Append('\n').ToString());
        }
    }

    public static void Write(BeliefTree tree, Stream stream)
    {
        ArgumentNullException.ThrowIfNull(tree);
        ArgumentNullException.ThrowIfNull(stream);
        int s = tree.Process.StateCount;
        var header = new StringBuilder("prefix,probability");
        for (int j = 0; j < s; j++)
        {
            header.Append(",belief_").Append(j.ToString(CultureInfo.InvariantCulture));
        }

        stream.Write(Encoding.UTF8.GetBytes(header.Append('\n').ToString()));
        var tokens = Enumerable.Range(0, tree.Process.VocabSize).Select(x => Encoding.UTF8.GetBytes(x.ToString(CultureInfo.InvariantCulture))).ToArray();
        int digits = Digits(tree.Process.VocabSize - 1);

        // Rows are formatted in chunks of at most ChunkBytes (by the row bound) on the thread pool, a few chunks ahead,
        // while this thread writes the finished ones in order; number formatting is most of the time.
        var chunkStarts = new List<int> { 0 };
        var chunkBounds = new List<long>();
        long bytes = 0;
        for (int d = 0; d <= tree.Depth; d++)
        {
            long row = RowBytes(d, digits, s);
            for (int k = tree.DepthStart[d]; k < tree.DepthStart[d + 1]; k++)
            {
                if (bytes + row > ChunkBytes && k > chunkStarts[^1])
                {
                    chunkStarts.Add(k);
                    chunkBounds.Add(bytes);
                    bytes = 0;
                }

                bytes += row;
            }
        }

        chunkStarts.Add(tree.Count);
        chunkBounds.Add(bytes);
        int chunks = chunkStarts.Count - 1;
        int slots = 2 * Math.Clamp(Environment.ProcessorCount, 1, 8);
        var buffers = new byte[slots][];
        var lengths = new int[slots];
        var formatting = new Task[slots];
        int written = 0;
        try
        {
            for (int chunk = 0; chunk < chunks; chunk++)
            {
                int slot = chunk % slots;
                if (chunk >= slots)
                {
                    WriteChunk(written++ % slots); // frees this slot
                }

                if (buffers[slot] is null || buffers[slot].Length < chunkBounds[chunk])
                {
                    if (buffers[slot] is not null)
                    {
                        ArrayPool<byte>.Shared.Return(buffers[slot]);
                    }

                    buffers[slot] = ArrayPool<byte>.Shared.Rent((int)Math.Max(chunkBounds[chunk], ChunkBytes));
                }

                int first = chunkStarts[chunk], end = chunkStarts[chunk + 1];
                var buffer = buffers[slot];
                formatting[slot] = Task.Run(() => { lengths[slot] = FormatRows(tree, first, end, tokens, buffer); });
            }

            while (written < chunks)
            {
                WriteChunk(written++ % slots);
            }
        }
        finally
        {
            // After a failure, let the chunks still being formatted finish before their buffers go back to the pool.
            foreach (var task in formatting)
            {
                if (task is { IsCompleted: false })
                {
                    try
                    {
                        task.Wait();
                    }
                    catch (AggregateException)
                    {
                        // the failure that brought us here is the one to report
                    }
                }
            }

            foreach (var buffer in buffers)
            {
                if (buffer is not null)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }

        void WriteChunk(int slot)
        {
            formatting[slot].GetAwaiter().GetResult();
            stream.Write(buffers[slot], 0, lengths[slot]);
        }
    }

    private const int ChunkBytes = 1 << 20;

    // Hot from the first row: compile it optimized at once rather than start it in the unoptimized tier.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int FormatRows(BeliefTree tree, int start, int end, byte[][] tokens, byte[] buffer)
    {
        int s = tree.Process.StateCount;
        var span = buffer.AsSpan();
        int at = 0;
        int previousParent = -1, previousRow = 0, parentPrefixBytes = 0;
        for (int k = start; k < end; k++)
        {
            int row = at;
            int parent = tree.Parent[k];
            if (parent >= 0 && parent == previousParent)
            {
                // A sibling of the previous row: copy the parent's prefix and space from it, then add the token.
                span.Slice(previousRow, parentPrefixBytes).CopyTo(span[at..]);
                at += parentPrefixBytes;
                var token = tokens[tree.Token[k]];
                token.CopyTo(span[at..]);
                at += token.Length;
            }
            else
            {
                // Otherwise walk up the tree for the prefix, then write it oldest first.
                for (int node = k; tree.Token[node] >= 0; node = tree.Parent[node])
                {
                    at += tokens[tree.Token[node]].Length + 1;
                }

                int back = at;
                for (int node = k; tree.Token[node] >= 0; node = tree.Parent[node])
                {
                    var token = tokens[tree.Token[node]];
                    span[--back] = (byte)' ';
                    back -= token.Length;
                    token.CopyTo(span[back..]);
                }

                if (at > row)
                {
                    at--; // no space after the last token
                    parentPrefixBytes = at - row - tokens[tree.Token[k]].Length;
                }
            }

            previousParent = parent;
            previousRow = row;

            at += Number(Math.Exp(tree.LogProbability[k]), span[at..]);
            var belief = tree.Belief(k);
            for (int j = 0; j < s; j++)
            {
                at += Number(belief[j], span[at..]);
            }

            span[at++] = (byte)'\n';
        }

        return at;
    }

    /// <summary>
    /// An upper bound on the CSV's size in bytes from the prefix count at each depth (<see cref="BeliefTree.DepthStart"/>):
    /// every token at its widest and every number at <see cref="MaxNumberBytes"/> (probabilities are never negative).
    /// </summary>
    public static double MaxBytes(int stateCount, int vocabSize, ReadOnlySpan<int> depthStart)
    {
        int digits = Digits(vocabSize - 1);
        double total = HeaderBytes(stateCount);
        for (int d = 0; d + 1 < depthStart.Length; d++)
        {
            total += (double)(depthStart[d + 1] - depthStart[d]) * RowBytes(d, digits, stateCount);
        }

        return total;
    }

    /// <summary>
    /// A lower bound on the CSV's size before enumerating: every live prefix has a live child, so each depth 0..L holds
    /// at least one prefix, written with one-digit tokens and one-character numbers.
    /// </summary>
    public static double MinBytes(int stateCount, int depth)
    {
        // Σ_{d=0..L} (prefix 2d−1 bytes, none for the root; 1 + S commas; 1 + S one-character numbers; newline).
        double rows = depth + 1.0;
        double prefixBytes = depth * (depth + 1.0) - depth;
        return HeaderBytes(stateCount) + prefixBytes + (rows * ((2.0 * (1 + stateCount)) + 1));
    }

    private static double HeaderBytes(int stateCount)
    {
        double bytes = "prefix,probability\n".Length;
        for (int j = 0; j < stateCount; j++)
        {
            bytes += ",belief_".Length + Digits(j);
        }

        return bytes;
    }

    // Widest row of a prefix of `length` tokens: tokens and spaces, probability, S beliefs, commas, newline.
    private static long RowBytes(int length, int digits, int stateCount) =>
        ((long)length * digits) + Math.Max(length - 1, 0) + 1 + (MaxNumberBytes - 1) + ((long)stateCount * (1 + MaxNumberBytes)) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Number(double value, Span<byte> destination)
    {
        destination[0] = (byte)',';
        return RoundTripFormat.Write(value, destination[1..]) + 1;
    }

    private static int Digits(int value) => value < 10 ? 1 : value.ToString(CultureInfo.InvariantCulture).Length;
}
