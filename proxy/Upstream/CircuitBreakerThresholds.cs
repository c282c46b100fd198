namespace Herald.Proxy.Upstream;

/// <summary>A cluster's <c>circuit_breakers.thresholds</c> for priority DEFAULT, with Envoy's defaults.</summary>
internal sealed record CircuitBreakerThresholds
{
    public const int DefaultMaxConnections = 1024;
    public const int DefaultMaxPendingRequests = 1024;
    public const int DefaultMaxRequests = 1024;
    public const int DefaultMaxRetries = 3;
    public const double DefaultBudgetPercent = 20;
    public const int DefaultMinRetryConcurrency = 3;

    public static CircuitBreakerThresholds Default { get; } = new();

    public int MaxConnections { get; init; } = DefaultMaxConnections;

    public int MaxPendingRequests { get; init; } = DefaultMaxPendingRequests;

    public int MaxRequests { get; init; } = DefaultMaxRequests;

    /// <summary>Concurrent retries; ignored when a retry budget is set (as in Envoy).</summary>
    public int MaxRetries { get; init; } = DefaultMaxRetries;

    /// <summary>retry_budget.budget_percent, or null when the cluster has no retry budget.</summary>
    public double? BudgetPercent { get; init; }

    public int MinRetryConcurrency { get; init; } = DefaultMinRetryConcurrency;

    /// <summary>track_remaining: publish remaining_* gauges.</summary>
    public bool TrackRemaining { get; init; }
}
