namespace Herald.Proxy.Upstream.Health;

/// <summary>A cluster's validated <c>outlier_detection</c>; defaults are Envoy's.</summary>
internal sealed record OutlierDetectionConfig
{
    public uint Consecutive5xx { get; init; } = 5;

    public uint ConsecutiveGatewayFailure { get; init; } = 5;

    /// <summary>Percent chance that a consecutive-5xx outlier is ejected.</summary>
    public uint EnforcingConsecutive5xx { get; init; } = 100;

    /// <summary>Percent chance that a consecutive-gateway-failure outlier is ejected (0: detected and counted only).</summary>
    public uint EnforcingConsecutiveGatewayFailure { get; init; }

    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest ejection; never below <see cref="BaseEjectionTime"/>.</summary>
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>A random 0..jitter added to every ejection.</summary>
    public TimeSpan MaxEjectionTimeJitter { get; init; } = TimeSpan.Zero;

    public uint MaxEjectionPercent { get; init; } = 10;

    public uint EnforcingSuccessRate { get; init; } = 100;

    public uint SuccessRateMinimumHosts { get; init; } = 5;

    public uint SuccessRateRequestVolume { get; init; } = 100;

    /// <summary>The stdev multiplier, in thousandths (1900 means 1.9).</summary>
    public uint SuccessRateStdevFactor { get; init; } = 1900;

    /// <summary>A passing active health check un-ejects the host and clears its counters.</summary>
    public bool SuccessfulActiveHealthCheckUnejectHost { get; init; } = true;
}
