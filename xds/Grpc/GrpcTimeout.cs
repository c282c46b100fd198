using System.Globalization;

namespace Herald.Xds.Grpc;

/// <summary>
/// The <c>grpc-timeout</c> header: at most 8 ASCII digits and one unit, H (hours), M (minutes),
/// S (seconds), m (milliseconds), u (microseconds) or n (nanoseconds).
/// </summary>
public static class GrpcTimeout
{
    private const long MaxValue = 99_999_999;

    // Finest unit first, so a timeout is sent as precisely as 8 digits allow.
    private static readonly (char Unit, long NanosPerUnit)[] Units =
    [
        ('n', 1), ('u', 1_000), ('m', 1_000_000), ('S', 1_000_000_000), ('M', 60_000_000_000), ('H', 3_600_000_000_000),
    ];

    public static bool TryParse(ReadOnlySpan<char> value, out TimeSpan timeout)
    {
        timeout = default;
        if (value.Length < 2 || value.Length > 9)
        {
            return false;
        }

        long amount = 0;
        var digits = value[..^1];
        foreach (var c in digits)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            amount = (amount * 10) + (c - '0');
        }

        long nanosPerUnit = value[^1] switch
        {
            'n' => 1,
            'u' => 1_000,
            'm' => 1_000_000,
            'S' => 1_000_000_000,
            'M' => 60_000_000_000,
            'H' => 3_600_000_000_000,
            _ => 0,
        };
        if (nanosPerUnit == 0)
        {
            return false;
        }

        // 99,999,999 hours fits a TimeSpan; ticks are 100 ns, rounded up so "1n" is not zero.
        var ticksPerUnit = nanosPerUnit / 100;
        timeout = ticksPerUnit > 0
            ? TimeSpan.FromTicks(amount * ticksPerUnit)
            : TimeSpan.FromTicks(((amount * nanosPerUnit) + 99) / 100);
        return true;
    }

    /// <summary>Formats a positive timeout in the finest unit that fits 8 digits, rounded up.</summary>
    public static string Format(TimeSpan timeout)
    {
        var ticks = Math.Max(timeout.Ticks, 0);
        foreach (var (unit, nanosPerUnit) in Units)
        {
            long amount;
            if (nanosPerUnit < 100)
            {
                if (ticks > MaxValue)
                {
                    continue;
                }

                amount = ticks * (100 / nanosPerUnit);
            }
            else
            {
                var ticksPerUnit = nanosPerUnit / 100;
                amount = (ticks / ticksPerUnit) + (ticks % ticksPerUnit == 0 ? 0 : 1);
            }

            if (amount <= MaxValue)
            {
                return string.Create(CultureInfo.InvariantCulture, $"{Math.Max(amount, 1)}{unit}");
            }
        }

        return "99999999H";
    }
}
