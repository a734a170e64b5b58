using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace BeliefLens.Core;

/// <summary>
/// Writes a double as UTF-8 text identical to <c>value.ToString("R", CultureInfo.InvariantCulture)</c>, several times
/// faster. The digits are the shortest that parse back to the same double (the bounds of its rounding interval included
/// when its mantissa is even, as round-to-even parsing allows), the closest to the exact value when several qualify,
/// ties to an even last digit; they are found with Ulf Adams' Ryu algorithm (PLDI 2018). The layout is .NET's: plain
/// from 0.0001 up to 17 integer digits, otherwise <c>d.dddE+XX</c>/<c>d.dddE-XX</c>; <c>-0</c> for negative zero.
/// NaN, infinities and powers of two take .NET's own text.
/// </summary>
public static partial class RoundTripFormat
{
    /// <summary>The longest text: sign, 17 significant digits, point, exponent <c>E-308</c>.</summary>
    public const int MaxBytes = 24;

    // Bit counts of the multipliers in RoundTripFormat.Tables.cs.
    internal const int Pow5BitCount = 125;
    internal const int Pow5InvBitCount = 125;

    private static ReadOnlySpan<byte> DigitPairs => "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"u8;

    /// <summary>Writes <paramref name="value"/> to the start of <paramref name="destination"/> (at least <see cref="MaxBytes"/> long) and returns the byte count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int Write(double value, Span<byte> destination)
    {
        if (destination.Length < MaxBytes)
        {
            ThrowTooShort();
        }

        ulong bits = BitConverter.DoubleToUInt64Bits(value);
        ulong mantissa = bits & ((1UL << 52) - 1);
        int exponent = (int)((bits >> 52) & 0x7FF);
        if (mantissa == 0 || exponent == 0x7FF)
        {
            return WriteSpecial(value, destination);
        }

        // Past the length check, bytes go straight to memory.
        ref byte start = ref MemoryMarshal.GetReference(destination);
        ref byte at = ref start;
        if ((long)bits < 0)
        {
            at = (byte)'-';
            at = ref Unsafe.Add(ref at, 1);
        }

        (ulong digits, int decimalExponent) = Shortest(mantissa, exponent);
        int count = DecimalLength(digits);

        // .NET's "R" is its general format with max(count, 17) digits: the point sits `scale` digits into the digits.
        int scale = count + decimalExponent;
        if (scale > Math.Max(count, 17) || scale < -3)
        {
            // d.ddddE±XX: write the digits one place right, then pull the first one left over the point.
            WriteDigits(digits, count, ref Unsafe.Add(ref at, 1));
            at = Unsafe.Add(ref at, 1);
            if (count > 1)
            {
                Unsafe.Add(ref at, 1) = (byte)'.';
                at = ref Unsafe.Add(ref at, count + 1);
            }
            else
            {
                at = ref Unsafe.Add(ref at, 1);
            }

            int power = scale - 1;
            at = (byte)'E';
            Unsafe.Add(ref at, 1) = power < 0 ? (byte)'-' : (byte)'+';
            at = ref Unsafe.Add(ref at, 2);
            power = Math.Abs(power);
            if (power >= 100)
            {
                at = (byte)('0' + (power / 100));
                at = ref Unsafe.Add(ref at, 1);
                power %= 100;
            }

            WritePair(power, ref at);
            return Length(ref start, ref at) + 2;
        }

        if (scale <= 0)
        {
            // 0.000ddd
            at = (byte)'0';
            Unsafe.Add(ref at, 1) = (byte)'.';
            at = ref Unsafe.Add(ref at, 2);
            for (; scale < 0; scale++)
            {
                at = (byte)'0';
                at = ref Unsafe.Add(ref at, 1);
            }

            WriteDigits(digits, count, ref at);
            return Length(ref start, ref at) + count;
        }

        // ddd.ddd or ddd000: write the digits one place right, then move the integer part left over the point.
        WriteDigits(digits, count, ref Unsafe.Add(ref at, 1));
        for (int k = 0; k < Math.Min(scale, count); k++)
        {
            Unsafe.Add(ref at, k) = Unsafe.Add(ref at, k + 1);
        }

        if (scale >= count)
        {
            for (int k = count; k < scale; k++)
            {
                Unsafe.Add(ref at, k) = (byte)'0';
            }

            return Length(ref start, ref at) + scale;
        }

        Unsafe.Add(ref at, scale) = (byte)'.';
        return Length(ref start, ref at) + count + 1;
    }

    // Zeros, powers of two, NaN and infinities, in .NET's text. Powers of two have a narrower gap below than above, and
    // .NET's digits for some of them do not even parse back (2^-25 gives 2.980232238769531E-08); each one's text is made
    // once.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int WriteSpecial(double value, Span<byte> destination)
    {
        int signAndExponent = (int)(BitConverter.DoubleToUInt64Bits(value) >> 52);
        if (value == 0)
        {
            int at = 0;
            if (signAndExponent != 0)
            {
                destination[at++] = (byte)'-';
            }

            destination[at] = (byte)'0';
            return at + 1;
        }

        if ((signAndExponent & 0x7FF) == 0x7FF)
        {
            value.TryFormat(destination, out int written, "R", CultureInfo.InvariantCulture);
            return written;
        }

        var text = PowerOfTwoText[signAndExponent] ??= Encoding.ASCII.GetBytes(value.ToString("R", CultureInfo.InvariantCulture));
        text.CopyTo(destination);
        return text.Length;
    }

    // Indexed by the sign and IEEE exponent fields; filled on first use (a race only writes the same text twice).
    private static readonly byte[]?[] PowerOfTwoText = new byte[]?[1 << 12];

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowTooShort() =>
        throw new ArgumentException($"A double's text needs up to {MaxBytes} bytes.", "destination");

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Length(ref byte start, ref byte at) => (int)Unsafe.ByteOffset(ref start, ref at);

    /// <summary>
    /// Ryu: the shortest decimal <c>digits·10^exponent</c> in the rounding interval of the double with these IEEE fields
    /// (bounds included when its mantissa is even, as .NET does), closest to it (ties to even). Every integer below is a
    /// scaled value floored: <c>vr</c> of the double, <c>vp</c>/<c>vm</c> of the interval's upper/lower bound; a
    /// "trailing zeros" flag says that the scaled value was exact and every digit dropped since was 0.
    /// Powers of two (lopsided interval) are not handled here.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static (ulong Digits, int Exponent) Shortest(ulong ieeeMantissa, int ieeeExponent)
    {
        // Two extra bits so that the interval bounds (half an ulp each side) are integers too.
        int e2;
        ulong m2;
        if (ieeeExponent == 0)
        {
            e2 = 1 - 1023 - 52 - 2;
            m2 = ieeeMantissa;
        }
        else
        {
            e2 = ieeeExponent - 1023 - 52 - 2;
            m2 = (1UL << 52) | ieeeMantissa;
        }

        bool acceptBounds = (m2 & 1) == 0;
        ulong mv = 4 * m2;
        ulong mp = mv + 2;
        ulong mm = mv - 2;

        ulong vr, vp, vm;
        int e10;
        bool vrIsTrailingZeros = false;
        bool vmIsTrailingZeros = false;
        if (e2 >= 0)
        {
            // Divide by 10^q: the scaled values are ⌊m·2^e2 / 10^q⌋, exact when 5^q divides m.
            int q = Log10Pow2(e2) - (e2 > 3 ? 1 : 0);
            e10 = q;
            int k = Pow5InvBitCount + Pow5Bits(q) - 1;
            int i = -e2 + q + k;
            ulong mulLow = Pow5Inv[2 * q], mulHigh = Pow5Inv[(2 * q) + 1];
            vr = MulShift(mv, mulLow, mulHigh, i);
            vp = MulShift(mp, mulLow, mulHigh, i);
            vm = MulShift(mm, mulLow, mulHigh, i);
            if (q <= 23)
            {
                // 5^24 exceeds every mp, so no higher power divides one.
                vrIsTrailingZeros = IsMultipleOfPowerOf5(mv, q);
                if (acceptBounds)
                {
                    vmIsTrailingZeros = IsMultipleOfPowerOf5(mm, q);
                }
                else if (IsMultipleOfPowerOf5(mp, q))
                {
                    vp--; // the upper bound itself is excluded
                }
            }
        }
        else
        {
            // Multiply by 10^−e10: the scaled values are ⌊m·5^i / 2^q⌋, exact when 2^q divides m.
            int q = Log10Pow5(-e2) - (-e2 > 1 ? 1 : 0);
            e10 = q + e2;
            int i = -e2 - q;
            int k = Pow5Bits(i) - Pow5BitCount;
            int j = q - k;
            ulong mulLow = Pow5[2 * i], mulHigh = Pow5[(2 * i) + 1];
            vr = MulShift(mv, mulLow, mulHigh, j);
            vp = MulShift(mp, mulLow, mulHigh, j);
            vm = MulShift(mm, mulLow, mulHigh, j);
            if (q <= 1)
            {
                // mv has two trailing zero bits, mp and mm one each.
                vrIsTrailingZeros = true;
                if (acceptBounds)
                {
                    vmIsTrailingZeros = true;
                }
                else
                {
                    vp--;
                }
            }
            else if (q < 63)
            {
                vrIsTrailingZeros = (mv & ((1UL << q) - 1)) == 0;
            }
        }

        // Drop digits while the interval still holds a shorter decimal; the last dropped digit decides the rounding.
        int removed = 0;
        int lastRemovedDigit = 0;
        if (vmIsTrailingZeros || vrIsTrailingZeros)
        {
            while (true)
            {
                ulong vpDiv10 = vp / 10;
                ulong vmDiv10 = vm / 10;
                if (vpDiv10 <= vmDiv10)
                {
                    break;
                }

                ulong vrDiv10 = vr / 10;
                vmIsTrailingZeros &= vm == 10 * vmDiv10;
                vrIsTrailingZeros &= lastRemovedDigit == 0;
                lastRemovedDigit = (int)(vr - (10 * vrDiv10));
                vr = vrDiv10;
                vp = vpDiv10;
                vm = vmDiv10;
                removed++;
            }

            if (vmIsTrailingZeros)
            {
                // The lower bound is itself a valid, shorter decimal: keep dropping its zeros.
                while (vm % 10 == 0)
                {
                    ulong vrDiv10 = vr / 10;
                    vrIsTrailingZeros &= lastRemovedDigit == 0;
                    lastRemovedDigit = (int)(vr - (10 * vrDiv10));
                    vr = vrDiv10;
                    vp /= 10;
                    vm /= 10;
                    removed++;
                }
            }

            if (vrIsTrailingZeros && lastRemovedDigit == 5 && (vr & 1) == 0)
            {
                lastRemovedDigit = 4; // exactly halfway: round to even
            }

            bool up = (vr == vm && (!acceptBounds || !vmIsTrailingZeros)) || lastRemovedDigit >= 5;
            return (vr + (up ? 1UL : 0UL), e10 + removed);
        }

        // No exact values: no ties, and usually two digits or more go, so try dropping two at once first.
        ulong vpDiv100 = vp / 100;
        ulong vmDiv100 = vm / 100;
        if (vpDiv100 > vmDiv100)
        {
            ulong vrDiv100 = vr / 100;
            lastRemovedDigit = (int)(vr - (100 * vrDiv100)) / 10;
            vr = vrDiv100;
            vp = vpDiv100;
            vm = vmDiv100;
            removed = 2;
        }

        while (true)
        {
            ulong vpDiv10 = vp / 10;
            ulong vmDiv10 = vm / 10;
            if (vpDiv10 <= vmDiv10)
            {
                break;
            }

            ulong vrDiv10 = vr / 10;
            lastRemovedDigit = (int)(vr - (10 * vrDiv10));
            vr = vrDiv10;
            vp = vpDiv10;
            vm = vmDiv10;
            removed++;
        }

        // Round up when the dropped part is over half, or when vr is the lower bound (not in the interval).
        return (vr + (vr == vm || lastRemovedDigit >= 5 ? 1UL : 0UL), e10 + removed);
    }

    // ⌊m · (mulHigh·2^64 + mulLow) / 2^shift⌋ for m < 2^55, a 125-bit multiplier and 64 < shift < 128.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong MulShift(ulong m, ulong mulLow, ulong mulHigh, int shift)
    {
        ulong lowHigh = Math.BigMul(m, mulLow, out _);
        ulong high = Math.BigMul(m, mulHigh, out ulong low);
        low += lowHigh;
        if (low < lowHigh)
        {
            high++;
        }

        int s = shift - 64;
        return (high << (64 - s)) | (low >> s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsMultipleOfPowerOf5(ulong value, int power)
    {
        for (int p = 0; p < power; p++)
        {
            ulong quotient = value / 5;
            if (value != 5 * quotient)
            {
                return false;
            }

            value = quotient;
        }

        return true;
    }

    // ⌊log10 2^e⌋, ⌊log10 5^e⌋ and the bit length of 5^e, exact over a double's exponent range.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Log10Pow2(int e) => (int)(((uint)e * 78913) >> 18);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Log10Pow5(int e) => (int)(((uint)e * 732923) >> 20);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Pow5Bits(int e) => (int)(((uint)e * 1217359) >> 19) + 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int DecimalLength(ulong v)
    {
        // ⌊log10 v⌋ + 1 from the bit length (an estimate that is exact or one short), corrected with one comparison.
        int estimate = ((64 - BitOperations.LeadingZeroCount(v)) * 1233) >> 12;
        return estimate + (v >= PowersOf10[estimate] ? 1 : 0);
    }

    private static ReadOnlySpan<ulong> PowersOf10 =>
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
        100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
        10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
    ];

    // Two ASCII digits of 0 ≤ pair < 100 at `at`.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WritePair(int pair, ref byte at) =>
        Unsafe.WriteUnaligned(ref at, Unsafe.ReadUnaligned<ushort>(ref Unsafe.Add(ref MemoryMarshal.GetReference(DigitPairs), 2 * pair)));

    // The `count` decimal digits of `value` (which has exactly that many) at `at`; eight at a time in 32-bit arithmetic.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void WriteDigits(ulong value, int count, ref byte at)
    {
        ref byte end = ref Unsafe.Add(ref at, count);
        while (value >= 100_000_000)
        {
            ulong quotient = value / 100_000_000;
            uint eight = (uint)(value - (quotient * 100_000_000));
            uint high = eight / 10_000;
            uint low = eight - (high * 10_000);
            uint highPair = high / 100;
            uint lowPair = low / 100;
            WritePair((int)highPair, ref Unsafe.Subtract(ref end, 8));
            WritePair((int)(high - (highPair * 100)), ref Unsafe.Subtract(ref end, 6));
            WritePair((int)lowPair, ref Unsafe.Subtract(ref end, 4));
            WritePair((int)(low - (lowPair * 100)), ref Unsafe.Subtract(ref end, 2));
            end = ref Unsafe.Subtract(ref end, 8);
            value = quotient;
        }

        uint rest = (uint)value;
        while (rest >= 100)
        {
            uint quotient = rest / 100;
            end = ref Unsafe.Subtract(ref end, 2);
            WritePair((int)(rest - (quotient * 100)), ref end);
            rest = quotient;
        }

        if (rest >= 10)
        {
            WritePair((int)rest, ref Unsafe.Subtract(ref end, 2));
        }
        else
        {
            Unsafe.Subtract(ref end, 1) = (byte)('0' + rest);
        }
    }
}
