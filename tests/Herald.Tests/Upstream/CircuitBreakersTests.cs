using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class CircuitBreakersTests
{
    [Fact]
    public void TryAcquireRequest_AtLimit_RefusesUntilReleasedAndGaugeFollows()
    {
        var store = new StatsStore();
        var breakers = new CircuitBreakers(new CircuitBreakerThresholds { MaxRequests = 2 }, store, "web");
        var open = store.Gauge(Key("rq_open"));

        Assert.True(breakers.TryAcquireRequest());
        Assert.Equal(0, open.Value);
        Assert.True(breakers.TryAcquireRequest());
        Assert.Equal(1, open.Value);
        Assert.False(breakers.TryAcquireRequest());
        Assert.Equal(2, breakers.ActiveRequests);

        breakers.ReleaseRequest();
        Assert.Equal(0, open.Value);
        Assert.True(breakers.TryAcquireRequest());
    }

    [Fact]
    public void TryAcquirePending_AtLimit_Refuses()
    {
        var breakers = new CircuitBreakers(new CircuitBreakerThresholds { MaxPendingRequests = 1 }, new StatsStore(), "web");

        Assert.True(breakers.TryAcquirePending());
        Assert.False(breakers.TryAcquirePending());
        breakers.ReleasePending();
        Assert.True(breakers.TryAcquirePending());
    }

    [Fact]
    public void AllowsNewConnection_ComparesOpenConnectionsWithMax()
    {
        var store = new StatsStore();
        var breakers = new CircuitBreakers(new CircuitBreakerThresholds { MaxConnections = 2, TrackRemaining = true }, store, "web");

        Assert.True(breakers.AllowsNewConnection(0));
        Assert.Equal(1, store.Gauge(Key("remaining_cx")).Value);
        Assert.True(breakers.AllowsNewConnection(1));
        Assert.Equal(1, store.Gauge(Key("cx_open")).Value);
        Assert.False(breakers.AllowsNewConnection(2));
        Assert.True(breakers.AllowsNewConnection(0));
        Assert.Equal(0, store.Gauge(Key("cx_open")).Value);
    }

    [Fact]
    public void TryAcquireRetry_NoBudget_MaxRetriesConcurrent()
    {
        var breakers = new CircuitBreakers(new CircuitBreakerThresholds { MaxRetries = 2 }, new StatsStore(), "web");

        Assert.True(breakers.TryAcquireRetry());
        Assert.True(breakers.TryAcquireRetry());
        Assert.False(breakers.TryAcquireRetry());
        breakers.ReleaseRetry();
        Assert.True(breakers.TryAcquireRetry());
    }

    [Fact]
    public void RetryLimit_Budget_PercentOfActiveRequestsWithMinimum()
    {
        var breakers = new CircuitBreakers(
            new CircuitBreakerThresholds { BudgetPercent = 20, MinRetryConcurrency = 3, MaxRetries = 0 }, new StatsStore(), "web");

        // 20% of 0..19 active requests is under 3: the minimum holds.
        Assert.Equal(3, breakers.RetryLimit());
        for (var i = 0; i < 25; i++)
        {
            Assert.True(breakers.TryAcquireRequest());
        }

        // 20% of 25 = 5; max_retries is ignored while a budget is set.
        Assert.Equal(5, breakers.RetryLimit());
        for (var i = 0; i < 5; i++)
        {
            Assert.True(breakers.TryAcquireRetry());
        }

        Assert.False(breakers.TryAcquireRetry());
    }

    private static StatKey Key(string stat) => new(
        $"cluster.web.circuit_breakers.default.{stat}", $"envoy_cluster_circuit_breakers_default_{stat}", [new("envoy_cluster_name", "web")]);
}
