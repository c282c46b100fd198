using Herald.Proxy.Config;
using Envoy.Type.V3;

namespace Herald.Proxy.Http.Filters;

/// <summary>Envoy's FractionalPercent: numerator out of 100, 10 000 or 1 000 000 (numerators above the denominator count as 100%).</summary>
internal readonly record struct FractionalPercentage(uint Numerator, uint Denominator)
{
    public static FractionalPercentage Never => new(0, 100);

    public static FractionalPercentage Always => new(100, 100);

    public bool IsNever => Numerator == 0;

    public bool IsAlways => Numerator >= Denominator;

    /// <summary>The same denominator with a numerator no greater than this one's (header-controlled percentages).</summary>
    public FractionalPercentage CappedAt(uint numerator) => this with { Numerator = Math.Min(Numerator, numerator) };

    /// <summary>True for the configured fraction of calls.</summary>
    public bool Sample(Random random)
    {
        if (IsNever)
        {
            return false;
        }

        return IsAlways || (uint)random.Next((int)Denominator) < Numerator;
    }

    /// <summary>Null (field unset) means <paramref name="unset"/>.</summary>
    public static FractionalPercentage Translate(FractionalPercent? config, string path, FractionalPercentage unset)
    {
        if (config is null)
        {
            return unset;
        }

        FieldPolicy.RequireOnly(config, path, "numerator", "denominator");
        var denominator = config.Denominator switch
        {
            FractionalPercent.Types.DenominatorType.Hundred => 100u,
            FractionalPercent.Types.DenominatorType.TenThousand => 10_000u,
            FractionalPercent.Types.DenominatorType.Million => 1_000_000u,
            _ => throw new ConfigException(FieldPolicy.Join(path, "denominator"), $"unknown denominator {(int)config.Denominator}", "Use HUNDRED, TEN_THOUSAND or MILLION"),
        };
        return new FractionalPercentage(config.Numerator, denominator);
    }
}
