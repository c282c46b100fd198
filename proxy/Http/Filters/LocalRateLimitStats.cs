using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Http.Filters;

/// <summary>Envoy's <c>STAT_PREFIX.http_local_rate_limit.*</c> counters.</summary>
internal sealed class LocalRateLimitStats
{
    public LocalRateLimitStats(StatsStore store, string statPrefix)
    {
        Counter Make(string stat) => store.Counter(StatKey.Global($"{statPrefix}.http_local_rate_limit.{stat}"));
        Enabled = Make("enabled");
        Enforced = Make("enforced");
        RateLimited = Make("rate_limited");
        Ok = Make("ok");
    }

    /// <summary>Requests the filter checked (filter_enabled sampled true).</summary>
    public Counter Enabled { get; }

    /// <summary>Rate-limited requests that were answered locally.</summary>
    public Counter Enforced { get; }

    /// <summary>Requests that found no token (enforced or not).</summary>
    public Counter RateLimited { get; }

    /// <summary>Requests that got a token.</summary>
    public Counter Ok { get; }
}
