using System.Globalization;
using System.Numerics;
using System.Text;
using BeliefLens.Core;

namespace BeliefLens.Core.Tests;

/// <summary>The fast writer of doubles gives exactly .NET's round-trip ("R") text, which outside checks of the CSV rely on.</summary>
public sealed class RoundTripFormatTests
{
    [Fact]
    public void MatchesDotNetRoundTripTextOnASeededSample()
    {
        var random = new Random(20240611);
        var values = new List<double>
        {
            0.0, -0.0, 1, -1, 0.1, 0.3, 2.0 / 3, 0.85, 0.075, double.MaxValue, double.MinValue, double.Epsilon,
            2.2250738585072014E-308, 2.2250738585072009E-308, 9007199254740993, 1e23, 5e-324,
            double.NaN, double.PositiveInfinity, double.NegativeInfinity,

            // Where the layout switches between plain and E notation, and around a wide integer part.
            1e-5, 1e-4, 0.00012345, 0.000012345, 1e15, 1e16, 1e17, 1e18, 123456789012345.6, 12345678901234567,
            123456789012345678, 1.5e300, 1.5e-300,
        };

        for (int e = -1080; e <= 1030; e++)
        {
            // Powers of two (a lopsided rounding interval) and their neighbours.
            double power = Math.ScaleB(1, e);
            values.Add(power);
            values.Add(Math.BitIncrement(power));
            values.Add(Math.BitDecrement(power));
        }

        for (int e = -325; e <= 308; e++)
        {
            // Short decimals at every exponent: their rounding interval's bounds and ties are the hard cases.
            for (int digits = 1; digits <= 12; digits++)
            {
                double value = double.Parse($"{digits}e{e}", CultureInfo.InvariantCulture);
                values.Add(value);
                values.Add(Math.BitIncrement(value));
                values.Add(Math.BitDecrement(value));
            }
        }

        for (int k = 0; k < 40_000; k++)
        {
            values.Add(BitConverter.UInt64BitsToDouble((ulong)random.NextInt64() ^ ((ulong)random.Next(2) << 63)));
            values.Add(random.NextDouble());
            double r = random.NextDouble();
            values.Add(r * r * r * r);
            values.Add(BitConverter.UInt64BitsToDouble((ulong)random.NextInt64(1, 1L << 52))); // subnormal
            values.Add(random.NextInt64(0, 1L << 62));
            values.Add(random.Next(0, 1_000_000) * 0.001);
            values.Add(double.Parse($"{random.NextInt64(1, 100_000_000_000_000_000)}e{random.Next(-340, 300)}", CultureInfo.InvariantCulture));
        }

        var buffer = new byte[RoundTripFormat.MaxBytes];
        foreach (double value in values)
        {
            int written = RoundTripFormat.Write(value, buffer);
            string expected = value.ToString("R", CultureInfo.InvariantCulture);
            string actual = Encoding.ASCII.GetString(buffer, 0, written);
            Assert.True(expected == actual, $"bits 0x{BitConverter.DoubleToUInt64Bits(value):X16}: .NET {expected}, written {actual}");
        }
    }

    [Fact]
    public void MultipliersMatchTheirDefinitions()
    {
        // Pow5[i]: 5^i shifted to exactly 125 bits; Pow5Inv[i]: ⌊2^(bits(5^i) − 1 + 125) / 5^i⌋ + 1.
        var power = BigInteger.One;
        for (int i = 0; i < RoundTripFormat.Pow5Inv.Length / 2; i++, power *= 5)
        {
            int bits = (int)power.GetBitLength();
            if (i < RoundTripFormat.Pow5.Length / 2)
            {
                int shift = bits - RoundTripFormat.Pow5BitCount;
                Assert.Equal(shift >= 0 ? power >> shift : power << -shift, Entry(RoundTripFormat.Pow5, i));
            }

            var inverse = (BigInteger.One << (bits - 1 + RoundTripFormat.Pow5InvBitCount)) / power + 1;
            Assert.Equal(inverse, Entry(RoundTripFormat.Pow5Inv, i));
        }
    }

    [Fact]
    public void RefusesADestinationShorterThanTheLongestText()
    {
        Assert.Throws<ArgumentException>(() => RoundTripFormat.Write(0.5, new byte[RoundTripFormat.MaxBytes - 1]));

        // The bound is reached: a sign, 17 digits, a point and a three-digit negative exponent.
        Assert.Equal(RoundTripFormat.MaxBytes, (-2.2250738585072014E-308).ToString("R", CultureInfo.InvariantCulture).Length);
    }

    private static BigInteger Entry(ReadOnlySpan<ulong> table, int index) =>
        ((BigInteger)table[(2 * index) + 1] << 64) | table[2 * index];
}
