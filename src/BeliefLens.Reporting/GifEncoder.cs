using SkiaSharp;

namespace BeliefLens.Reporting;

/// <summary>
/// A minimal animated-GIF (GIF89a) writer: one fixed 256-colour palette (6×6×6 colour cube plus 40 greys),
/// nearest-colour quantisation, LZW compression, looping forever. Enough for figure animations,
/// which are mostly white with saturated belief colours.
/// </summary>
public static class GifEncoder
{
    private const int MaxCode = 4096;

    /// <summary>The fixed palette as (R, G, B), index = colour index in the file.</summary>
    public static IReadOnlyList<(byte R, byte G, byte B)> Palette { get; } = BuildPalette();

    private static readonly byte[] NearestIndex = BuildLookup();

    private static readonly Dictionary<int, byte> ExactIndex =
        Palette.Select((c, i) => (Key: (c.R << 16) | (c.G << 8) | c.B, Index: (byte)i)).ToDictionary(x => x.Key, x => x.Index);

    /// <summary>Writes <paramref name="frames"/> (all the same size) as an endlessly looping animation.</summary>
    /// <param name="frames">Frames in order.</param>
    /// <param name="path">Output .gif path (written atomically).</param>
    /// <param name="delayCentiseconds">Time each frame shows; the last frame is held for three times as long.</param>
    public static void Write(IReadOnlyList<SKBitmap> frames, string path, int delayCentiseconds = 80)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames.Count == 0)
        {
            throw new ArgumentException("frames: need at least one frame.", nameof(frames));
        }

        int width = frames[0].Width, height = frames[0].Height;
        if (frames.Any(f => f.Width != width || f.Height != height))
        {
            throw new ArgumentException("frames: all frames must have the same size.", nameof(frames));
        }

        FigureWriter.WriteAtomically(path, stream =>
        {
            using var w = new BinaryWriter(stream);
            w.Write("GIF89a"u8);
            w.Write((ushort)width);
            w.Write((ushort)height);
            w.Write((byte)0xF7); // global colour table, 8 bits per channel resolution, 2^(7+1) = 256 entries
            w.Write((byte)0); // background colour index
            w.Write((byte)0); // square pixels
            foreach (var (r, g, b) in Palette)
            {
                w.Write(r);
                w.Write(g);
                w.Write(b);
            }

            // NETSCAPE2.0 application extension: loop forever.
            w.Write([0x21, 0xFF, 0x0B]);
            w.Write("NETSCAPE2.0"u8);
            w.Write([0x03, 0x01, 0x00, 0x00, 0x00]);

            for (int k = 0; k < frames.Count; k++)
            {
                int delay = k == frames.Count - 1 ? delayCentiseconds * 3 : delayCentiseconds;
                w.Write([0x21, 0xF9, 0x04, 0x04]); // graphic control: disposal "leave in place", no transparency
                w.Write((ushort)delay);
                w.Write([0x00, 0x00]);
                w.Write((byte)0x2C); // image descriptor: full frame, no local palette, not interlaced
                w.Write((ushort)0);
                w.Write((ushort)0);
                w.Write((ushort)width);
                w.Write((ushort)height);
                w.Write((byte)0);
                WriteImageData(w, Quantize(frames[k]));
            }

            w.Write((byte)0x3B);
        });
    }

    /// <summary>Palette index of the nearest palette colour for every pixel (alpha is composited over white).</summary>
    public static byte[] Quantize(SKBitmap bitmap)
    {
        ArgumentNullException.ThrowIfNull(bitmap);
        var pixels = bitmap.Pixels;
        var indices = new byte[pixels.Length];
        for (int k = 0; k < pixels.Length; k++)
        {
            var p = pixels[k];
            int a = p.Alpha;
            int r = ((p.Red * a) + (255 * (255 - a))) / 255;
            int g = ((p.Green * a) + (255 * (255 - a))) / 255;
            int b = ((p.Blue * a) + (255 * (255 - a))) / 255;
            // Palette colours map to themselves; everything else to the nearest colour of its 5-bit cell.
            indices[k] = ExactIndex.TryGetValue((r << 16) | (g << 8) | b, out byte exact)
                ? exact
                : NearestIndex[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)];
        }

        return indices;
    }

    private static void WriteImageData(BinaryWriter w, byte[] indices)
    {
        const int minCodeSize = 8;
        const int clear = 1 << minCodeSize;
        const int end = clear + 1;
        w.Write((byte)minCodeSize);
        var output = new SubBlockWriter(w);
        var table = new Dictionary<int, int>(MaxCode);
        int codeSize = minCodeSize + 1;
        int next = end + 1;
        output.WriteCode(clear, codeSize);
        int prefix = indices[0];
        for (int i = 1; i < indices.Length; i++)
        {
            int key = (prefix << 8) | indices[i];
            if (table.TryGetValue(key, out int code))
            {
                prefix = code;
                continue;
            }

            output.WriteCode(prefix, codeSize);
            if (next < MaxCode)
            {
                table[key] = next++;
                // The decoder learns each entry one code late, so widen only once the table has passed 2^codeSize.
                if (next > (1 << codeSize) && codeSize < 12)
                {
                    codeSize++;
                }
            }
            else
            {
                output.WriteCode(clear, codeSize);
                table.Clear();
                codeSize = minCodeSize + 1;
                next = end + 1;
            }

            prefix = indices[i];
        }

        output.WriteCode(prefix, codeSize);
        output.WriteCode(end, codeSize);
        output.Flush();
        w.Write((byte)0); // block terminator
    }

    /// <summary>Packs variable-width codes LSB-first into GIF sub-blocks of at most 255 bytes.</summary>
    private sealed class SubBlockWriter(BinaryWriter writer)
    {
        private readonly byte[] _block = new byte[255];
        private int _count;
        private int _bitBuffer;
        private int _bitCount;

        public void WriteCode(int code, int width)
        {
            _bitBuffer |= code << _bitCount;
            _bitCount += width;
            while (_bitCount >= 8)
            {
                Push((byte)(_bitBuffer & 0xFF));
                _bitBuffer >>= 8;
                _bitCount -= 8;
            }
        }

        public void Flush()
        {
            if (_bitCount > 0)
            {
                Push((byte)(_bitBuffer & 0xFF));
                _bitBuffer = 0;
                _bitCount = 0;
            }

            WriteBlock();
        }

        private void WriteBlock()
        {
            if (_count > 0)
            {
                writer.Write((byte)_count);
                writer.Write(_block, 0, _count);
                _count = 0;
            }
        }

        private void Push(byte value)
        {
            _block[_count++] = value;
            if (_count == 255)
            {
                WriteBlock();
            }
        }
    }

    private static (byte, byte, byte)[] BuildPalette()
    {
        var palette = new List<(byte, byte, byte)>(256);
        for (int r = 0; r < 6; r++)
        {
            for (int g = 0; g < 6; g++)
            {
                for (int b = 0; b < 6; b++)
                {
                    palette.Add(((byte)(r * 51), (byte)(g * 51), (byte)(b * 51)));
                }
            }
        }

        // Greys between the cube's levels keep anti-aliased text and lines smooth.
        for (int k = 0; palette.Count < 256; k++)
        {
            byte v = (byte)Math.Round((k + 1) * 255.0 / 41);
            palette.Add((v, v, v));
        }

        return palette.ToArray();
    }

    private static byte[] BuildLookup()
    {
        var palette = Palette;
        var lookup = new byte[1 << 15];
        for (int key = 0; key < lookup.Length; key++)
        {
            // Centre of the 5-bit cell.
            int r = (((key >> 10) & 31) << 3) | 4, g = (((key >> 5) & 31) << 3) | 4, b = ((key & 31) << 3) | 4;
            int best = 0, bestDistance = int.MaxValue;
            for (int i = 0; i < palette.Count; i++)
            {
                int dr = r - palette[i].R, dg = g - palette[i].G, db = b - palette[i].B;
                int d = (dr * dr) + (dg * dg) + (db * db);
                if (d < bestDistance)
                {
                    bestDistance = d;
                    best = i;
                }
            }

            lookup[key] = (byte)best;
        }

        return lookup;
    }
}
