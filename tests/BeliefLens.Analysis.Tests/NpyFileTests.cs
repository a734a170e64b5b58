using System.Buffers.Binary;
using System.Text;
using BeliefLens.Analysis;

namespace BeliefLens.Analysis.Tests;

public sealed class NpyFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("npy-test-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void HeaderBytesFollowTheVersion1Format()
    {
        byte[] header = NpyFile.Header([3, 2], singlePrecision: false);
        Assert.Equal(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, header[..8]);
        Assert.Equal(0, header.Length % 64);
        Assert.Equal(header.Length - 10, BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(8)));
        string text = Encoding.ASCII.GetString(header, 10, header.Length - 10);
        Assert.StartsWith("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", text);
        Assert.EndsWith("\n", text);
        Assert.Equal("{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }", text.TrimEnd('\n').TrimEnd(' '));

        string oneD = Encoding.ASCII.GetString(NpyFile.Header([7], singlePrecision: true));
        Assert.Contains("'descr': '<f4'", oneD);
        Assert.Contains("'shape': (7,)", oneD);
    }

    [Fact]
    public void Float64RoundTripIsExactAndDataIsLittleEndianCOrder()
    {
        var matrix = new DenseMatrix([1.5, -2.25, Math.PI, 1e-300, double.MaxValue, 0.1], 3, 2);
        string path = Path.Combine(_dir, "beliefs.npy");
        NpyFile.Write(path, matrix);

        var back = NpyFile.Read(path);
        Assert.Equal(new[] { 3, 2 }, back.Shape);
        Assert.Equal("<f8", back.Descr);
        Assert.Equal(matrix.Data, back.Data);

        byte[] bytes = File.ReadAllBytes(path);
        int dataStart = NpyFile.Header([3, 2], false).Length;
        Assert.Equal(dataStart + 6 * 8, bytes.Length);
        Assert.Equal(-2.25, BinaryPrimitives.ReadDoubleLittleEndian(bytes.AsSpan(dataStart + 8))); // row 0, col 1
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp-*"));
    }

    [Fact]
    public void Float32RoundTripRoundsToSingle()
    {
        string path = Path.Combine(_dir, "pred.npy");
        double[] data = [0.1, 1.0 / 3, -7];
        NpyFile.WriteFloat32(path, data, 3);
        var back = NpyFile.Read(path);
        Assert.Equal(new[] { 3 }, back.Shape);
        Assert.Equal("<f4", back.Descr);
        Assert.Equal(data.Select(v => (double)(float)v), back.Data);
    }
}
