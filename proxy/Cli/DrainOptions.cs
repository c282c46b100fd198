using System.Globalization;
using Herald.Proxy.Config;

namespace Herald.Proxy.Cli;

/// <summary><c>--drain-time-s SECONDS</c> and <c>--drain-strategy immediate</c>, as Envoy names them.</summary>
internal static class DrainOptions
{
    public const string DrainTimeOption = "--drain-time-s";
    public const string DrainStrategyOption = "--drain-strategy";
    public const string Usage = "[--drain-time-s 30] [--drain-strategy immediate]";

    public static readonly string[] Options = [DrainTimeOption, DrainStrategyOption];

    /// <summary>The drain time; <see cref="DataPlane.DefaultDrainTime"/> when not given.</summary>
    public static TimeSpan Parse(string? drainTime, string? strategy)
    {
        if (strategy is not null && strategy != "immediate")
        {
            throw new ConfigException(
                DrainStrategyOption,
                strategy == "gradual" ? "'gradual' is not supported" : $"'{strategy}' is not a drain strategy",
                "Herald drains immediately: every connection is asked to close when the drain starts. Give --drain-strategy immediate or leave it out");
        }

        if (drainTime is null)
        {
            return DataPlane.DefaultDrainTime;
        }

        if (!uint.TryParse(drainTime, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            throw new ConfigException(DrainTimeOption, $"'{drainTime}' is not a whole number of seconds", "Give the drain time in seconds, for example --drain-time-s 30");
        }

        return TimeSpan.FromSeconds(seconds);
    }
}
