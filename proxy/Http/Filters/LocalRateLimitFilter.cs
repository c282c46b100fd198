using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Http.Filters;

/// <summary>
/// Envoy's <c>envoy.filters.http.local_ratelimit</c>: one token per request from the most
/// specific config (route, then virtual host typed_per_filter_config, then the filter's own);
/// synchronous, no allocation.
/// </summary>
internal sealed class LocalRateLimitFilter : HttpFilter
{
    private readonly LocalRateLimitSettings _settings;
    private readonly StatsStore _stats;
    private readonly Random _random;

    public LocalRateLimitFilter(LocalRateLimitSettings settings, StatsStore stats, Random? random = null)
    {
        _settings = settings;
        _stats = stats;
        _random = random ?? Random.Shared;
        _ = settings.StatsIn(stats);
    }

    public override string Name => LocalRateLimitSettings.FilterName;

    public LocalRateLimitSettings Settings => _settings;

    public override ValueTask<FilterReply?> OnRequestAsync(IRequestHead request, Route? route, TimeProvider time, CancellationToken aborted) =>
        new(Decide(route, time));

    private FilterReply? Decide(Route? route, TimeProvider time)
    {
        var settings = route?.FilterOverrides?.LocalRateLimit
            ?? route?.VirtualHost.FilterOverrides?.LocalRateLimit
            ?? _settings;
        if (settings.Bucket is not { } bucket || !settings.Enabled.Sample(_random))
        {
            return null;
        }

        var stats = settings.StatsIn(_stats);
        stats.Enabled.Increment();
        if (bucket.TryConsume(time))
        {
            stats.Ok.Increment();
            return null;
        }

        stats.RateLimited.Increment();
        if (!settings.Enforced.Sample(_random))
        {
            return null;
        }

        stats.Enforced.Increment();
        return settings.Reply;
    }
}
