using System.Buffers.Binary;

namespace IpsecExporter.Site.Ntp;

/// <summary>
/// NTP's 64-bit timestamp: seconds since 1900-01-01 and a 32-bit binary fraction. Era rule of RFC 4330 section 3: a
/// set most significant bit means 1968-2036, a clear one 2036-2104, so the client works across the 2036 wrap.
/// </summary>
public static class NtpTimestamp
{
    private const long TicksPerSecond = TimeSpan.TicksPerSecond;
    private static readonly DateTimeOffset Era0 = new(1900, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Era1 = Era0.AddSeconds(1L << 32);

    public static void Write(Span<byte> destination, DateTimeOffset time)
    {
        var sinceEra = time - (time >= Era1 ? Era1 : Era0);
        var seconds = sinceEra.Ticks / TicksPerSecond;
        var fraction = (ulong)(sinceEra.Ticks % TicksPerSecond) * (1UL << 32) / TicksPerSecond;
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)seconds);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], (uint)fraction);
    }

    public static DateTimeOffset Read(ReadOnlySpan<byte> source)
    {
        var seconds = BinaryPrimitives.ReadUInt32BigEndian(source);
        var fraction = BinaryPrimitives.ReadUInt32BigEndian(source[4..]);
        var era = (seconds & 0x80000000) != 0 ? Era0 : Era1;
        var fractionTicks = (long)((fraction * (ulong)TicksPerSecond + (1UL << 31)) >> 32);
        return era.AddTicks((seconds * TicksPerSecond) + fractionTicks);
    }

    public static bool IsZero(ReadOnlySpan<byte> source) => BinaryPrimitives.ReadUInt64BigEndian(source) == 0;
}
