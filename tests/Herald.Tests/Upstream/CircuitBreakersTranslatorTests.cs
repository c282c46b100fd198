using Google.Protobuf;
using Herald.Proxy.Config;
using Herald.Proxy.Upstream;
using Xunit;
using Pb = Envoy.Config.Cluster.V3;

namespace Herald.Tests.Upstream;

public sealed class CircuitBreakersTranslatorTests
{
    private const string P = "static_resources.clusters[0].circuit_breakers";

    [Fact]
    public void Translate_Absent_EnvoyDefaults()
    {
        var thresholds = CircuitBreakersTranslator.Translate(null, P);

        Assert.Equal(1024, thresholds.MaxConnections);
        Assert.Equal(1024, thresholds.MaxPendingRequests);
        Assert.Equal(1024, thresholds.MaxRequests);
        Assert.Equal(3, thresholds.MaxRetries);
        Assert.Null(thresholds.BudgetPercent);
    }

    [Fact]
    public void Translate_EmptyThresholdsEntry_EnvoyDefaults()
    {
        Assert.Equal(CircuitBreakerThresholds.Default, Translate("""{"thresholds":[{}]}"""));
    }

    [Fact]
    public void Translate_EveryField_Honoured()
    {
        var thresholds = Translate("""
            {"thresholds":[{"priority":"DEFAULT","max_connections":10,"max_pending_requests":20,"max_requests":30,"max_retries":4,
              "retry_budget":{"budget_percent":{"value":50},"min_retry_concurrency":5},"track_remaining":true}]}
            """);

        Assert.Equal(10, thresholds.MaxConnections);
        Assert.Equal(20, thresholds.MaxPendingRequests);
        Assert.Equal(30, thresholds.MaxRequests);
        Assert.Equal(4, thresholds.MaxRetries);
        Assert.Equal(50, thresholds.BudgetPercent);
        Assert.Equal(5, thresholds.MinRetryConcurrency);
        Assert.True(thresholds.TrackRemaining);
    }

    [Fact]
    public void Translate_EmptyRetryBudget_TwentyPercentMinimumThree()
    {
        var thresholds = Translate("""{"thresholds":[{"retry_budget":{}}]}""");

        Assert.Equal(20, thresholds.BudgetPercent);
        Assert.Equal(3, thresholds.MinRetryConcurrency);
    }

    [Theory]
    [InlineData("""{"thresholds":[{"priority":"HIGH","max_requests":5}]}""", P + ".thresholds[0].priority")]
    [InlineData("""{"thresholds":[{"max_requests":5},{"max_requests":6}]}""", P + ".thresholds[1]")]
    [InlineData("""{"thresholds":[{"max_connection_pools":5}]}""", P + ".thresholds[0].max_connection_pools")]
    [InlineData("""{"per_host_thresholds":[{"max_connections":5}]}""", P + ".per_host_thresholds")]
    [InlineData("""{"thresholds":[{"retry_budget":{"budget_percent":{"value":150}}}]}""", P + ".thresholds[0].retry_budget.budget_percent")]
    [InlineData("""{"thresholds":[{"max_requests":4294967295}]}""", P + ".thresholds[0].max_requests")]
    public void Translate_BadValue_ThrowsNamingThePath(string json, string path)
    {
        var e = Assert.Throws<ConfigException>(() => Translate(json));

        Assert.Equal(path, e.FieldPath);
        Assert.False(string.IsNullOrEmpty(e.Fix));
    }

    private static CircuitBreakerThresholds Translate(string json) =>
        CircuitBreakersTranslator.Translate(JsonParser.Default.Parse<Pb.CircuitBreakers>(json), P);
}
