using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using BeliefLens.Core;

namespace BeliefLens.Analysis;

/// <summary>A float array read back from a .npy file; Data is row-major (C order), widened to float64.</summary>
public sealed record NpyArray(double[] Data, int[] Shape, string Descr);

/// <summary>
/// NumPy .npy format version 1.0: magic "\x93NUMPY", bytes 1 0, little-endian uint16 header length, then an ASCII dict
/// {'descr': '&lt;f8', 'fortran_order': False, 'shape': (r, c), } padded with spaces and ending in '\n' so the data starts
/// at a multiple of 64 bytes; then the raw little-endian values in C order.
/// </summary>
public static class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static void WriteFloat64(string path, ReadOnlySpan<double> data, params int[] shape) => Write(path, data, shape, singlePrecision: false);

    public static void WriteFloat32(string path, ReadOnlySpan<double> data, params int[] shape) => Write(path, data, shape, singlePrecision: true);

    public static void Write(string path, DenseMatrix matrix, bool singlePrecision = false)
    {
        ArgumentNullException.ThrowIfNull(matrix);
        Write(path, matrix.Data, [matrix.Rows, matrix.Cols], singlePrecision);
    }

    /// <summary>The header bytes (magic through '\n') for a given dtype and shape.</summary>
    public static byte[] Header(int[] shape, bool singlePrecision)
    {
        ArgumentNullException.ThrowIfNull(shape);
        string dims = shape.Length == 1
            ? string.Create(CultureInfo.InvariantCulture, $"({shape[0]},)")
            : "(" + string.Join(", ", shape.Select(s => s.ToString(CultureInfo.InvariantCulture))) + ")";
        string dict = $"{{'descr': '{(singlePrecision ? "<f4" : "<f8")}', 'fortran_order': False, 'shape': {dims}, }}";
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        string text = dict + new string(' ', padding) + "\n";
        var header = new byte[Magic.Length + 4 + text.Length];
        Magic.CopyTo(header, 0);
        header[6] = 1;
        header[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(8), checked((ushort)text.Length));
        Encoding.ASCII.GetBytes(text, header.AsSpan(10));
        return header;
    }

    private static void Write(string path, ReadOnlySpan<double> data, int[] shape, bool singlePrecision)
    {
        ArgumentNullException.ThrowIfNull(path);
        long count = shape.Aggregate(1L, (a, s) => s >= 0 ? a * s : throw new BeliefLensInputException($"shape: dimension {s} is negative."));
        if (count != data.Length)
        {
            throw new BeliefLensInputException($"shape: ({string.Join(", ", shape)}) holds {count} values but the array has {data.Length}.");
        }

        // Atomic: write a temp file beside the target, then rename.
        string temp = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            stream.Write(Header(shape, singlePrecision));
            var buffer = new byte[8192];
            int size = singlePrecision ? 4 : 8;
            int per = buffer.Length / size;
            for (int start = 0; start < data.Length; start += per)
            {
                int n = Math.Min(per, data.Length - start);
                for (int i = 0; i < n; i++)
                {
                    if (singlePrecision)
                    {
                        BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), (float)data[start + i]);
                    }
                    else
                    {
                        BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(i * 8), data[start + i]);
                    }
                }

                stream.Write(buffer, 0, n * size);
            }
        }

        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a v1.0/v2.0 .npy file of little-endian float32/float64 in C order.</summary>
    public static NpyArray Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic))
        {
            throw new BeliefLensInputException($"{path}: not a .npy file (bad magic).");
        }

        int headerLength, offset;
        if (bytes[6] == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
            offset = 10;
        }
        else if (bytes[6] is 2 or 3)
        {
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
            offset = 12;
        }
        else
        {
            throw new BeliefLensInputException($"{path}: unsupported .npy version {bytes[6]}.{bytes[7]}.");
        }

        string header = Encoding.ASCII.GetString(bytes, offset, headerLength);
        string descr = Field(header, "descr").Trim().Trim('\'', '"');
        string fortran = Field(header, "fortran_order").Trim();
        if (fortran != "False")
        {
            throw new BeliefLensInputException($"{path}: Fortran-order arrays are not supported; save with C order.");
        }

        string shapeText = Field(header, "shape").Trim().TrimStart('(').TrimEnd(')');
        int[] shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        long count = shape.Aggregate(1L, (a, s) => a * s);
        int size = descr switch
        {
            "<f8" => 8,
            "<f4" => 4,
            _ => throw new BeliefLensInputException($"{path}: dtype {descr} is not supported; use '<f8' or '<f4'."),
        };
        int dataStart = offset + headerLength;
        if (bytes.Length - dataStart != count * size)
        {
            throw new BeliefLensInputException($"{path}: expected {count * size} data bytes for shape ({shapeText}), found {bytes.Length - dataStart}.");
        }

        var data = new double[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = size == 8
                ? BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(dataStart + i * 8))
                : BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(dataStart + i * 4));
        }

        return new NpyArray(data, shape, descr);
    }

    /// <summary>The raw text of one value in the header dict (up to the next top-level comma or closing brace).</summary>
    private static string Field(string header, string key)
    {
        int at = header.IndexOf($"'{key}'", StringComparison.Ordinal);
        if (at < 0)
        {
            throw new BeliefLensInputException($".npy header lacks '{key}'.");
        }

        int colon = header.IndexOf(':', at);
        int depth = 0;
        int i = colon + 1;
        for (; i < header.Length; i++)
        {
            char c = header[i];
            if (c == '(')
            {
                depth++;
            }
            else if (c == ')')
            {
                depth--;
            }
            else if ((c == ',' || c == '}') && depth == 0)
            {
                break;
            }
        }

        return header[(colon + 1)..i];
    }
}
