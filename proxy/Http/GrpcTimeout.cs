namespace Herald.Proxy.Http;

/// <summary>The <c>grpc-timeout</c> request header: 1 to 8 ASCII digits and a unit (H, M, S, m, u, n).</summary>
internal static class GrpcTimeout
{
    /// <summary>False for a missing unit, a non-digit, more than 8 digits or an unknown unit: such a header is ignored, as Envoy does.</summary>
    public static bool TryParse(ReadOnlySpan<byte> value, out TimeSpan timeout)
    {
        timeout = TimeSpan.Zero;
        if (value.Length is < 2 or > 9)
        {
            return false;
        }

        long amount = 0;
        var digits = value[..^1];
        foreach (var digit in digits)
        {
            if ((uint)(digit - '0') > 9)
            {
                return false;
            }

            amount = (amount * 10) + (digit - '0');
        }

        long ticks;
        switch (value[^1])
        {
            case (byte)'H':
                ticks = amount * TimeSpan.TicksPerHour;
                break;
            case (byte)'M':
                ticks = amount * TimeSpan.TicksPerMinute;
                break;
            case (byte)'S':
                ticks = amount * TimeSpan.TicksPerSecond;
                break;
            case (byte)'m':
                ticks = amount * TimeSpan.TicksPerMillisecond;
                break;
            case (byte)'u':
                ticks = amount * TimeSpan.TicksPerMicrosecond;
                break;
            case (byte)'n':
                ticks = amount / 100;
                break;
            default:
                return false;
        }

        timeout = TimeSpan.FromTicks(ticks);
        return true;
    }
}
