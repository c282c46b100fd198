using Herald.Proxy.Http.Filters;
using Herald.Proxy.Observability.Stats;
using Herald.Tests.Http.Routing;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Http.Filters;

public sealed class LocalRateLimitFilterTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly StatsStore _stats = new();

    [Fact]
    public void TokenBucket_Burst_AllowsMaxTokensThenRefusesUntilRefill()
    {
        var bucket = new TokenBucket(3, 1, TimeSpan.FromSeconds(1));

        Assert.True(bucket.TryConsume(_time));
        Assert.True(bucket.TryConsume(_time));
        Assert.True(bucket.TryConsume(_time));
        Assert.False(bucket.TryConsume(_time));
        _time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(bucket.TryConsume(_time));
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(bucket.TryConsume(_time));
        Assert.False(bucket.TryConsume(_time));
    }

    [Fact]
    public void TokenBucket_LongIdle_RefillsToMaxTokensOnly()
    {
        var bucket = new TokenBucket(2, 5, TimeSpan.FromMilliseconds(100));
        Assert.True(bucket.TryConsume(_time));
        Assert.True(bucket.TryConsume(_time));

        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal(2, bucket.Remaining(_time));
    }

    [Fact]
    public void TokenBucket_PartialIntervals_KeepTheirRemainder()
    {
        var bucket = new TokenBucket(10, 2, TimeSpan.FromSeconds(1));
        for (var i = 0; i < 10; i++)
        {
            Assert.True(bucket.TryConsume(_time));
        }

        _time.Advance(TimeSpan.FromMilliseconds(1500));
        Assert.Equal(2, bucket.Remaining(_time));
        _time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(4, bucket.Remaining(_time));
    }

    [Fact]
    public async Task OnRequest_AfterBurst_Replies429WithEnvoyBodyHeadersAndStats()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(FilterJson.Bucket(2, 1, "1s") +
            ""","response_headers_to_add":[{"header":{"key":"x-local-rate-limit","value":"true"}}]""")), _stats);
        var chain = config.HttpFilters!;
        var request = new TestRequestHead();
        var route = config.RouteTable.Match(request);

        Assert.Null(await chain.RunAsync(request, route, _time, default));
        Assert.Null(await chain.RunAsync(request, route, _time, default));
        var reply = await chain.RunAsync(request, route, _time, default);

        Assert.NotNull(reply);
        Assert.Equal(429, reply.Status);
        Assert.Equal("local_rate_limited", reply.BodyText);
        Assert.Equal("RL", reply.ResponseFlag);
        Assert.Contains(reply.Headers.Add, h => h is { Name: "x-envoy-ratelimited", Value: "true" });
        Assert.Contains(reply.Headers.Add, h => h is { Name: "x-local-rate-limit", Value: "true" });
        Assert.Equal(3, Counter("rl.http_local_rate_limit.enabled"));
        Assert.Equal(2, Counter("rl.http_local_rate_limit.ok"));
        Assert.Equal(1, Counter("rl.http_local_rate_limit.rate_limited"));
        Assert.Equal(1, Counter("rl.http_local_rate_limit.enforced"));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(await chain.RunAsync(request, route, _time, default));
    }

    [Fact]
    public async Task OnRequest_FilterEnabledUnset_NeverLimits()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(
            """ "stat_prefix":"rl","token_bucket":{"max_tokens":1,"fill_interval":"1s"}""")), _stats);
        var request = new TestRequestHead();

        for (var i = 0; i < 5; i++)
        {
            Assert.Null(await config.HttpFilters!.RunAsync(request, null, _time, default));
        }

        Assert.Equal(0, Counter("rl.http_local_rate_limit.enabled"));
    }

    [Fact]
    public async Task OnRequest_EnabledNotEnforced_CountsButForwards()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(
            """ "stat_prefix":"rl","token_bucket":{"max_tokens":1,"fill_interval":"1s"},"filter_enabled":{"default_value":{"numerator":100}}""")), _stats);
        var request = new TestRequestHead();

        for (var i = 0; i < 3; i++)
        {
            Assert.Null(await config.HttpFilters!.RunAsync(request, null, _time, default));
        }

        Assert.Equal(2, Counter("rl.http_local_rate_limit.rate_limited"));
        Assert.Equal(0, Counter("rl.http_local_rate_limit.enforced"));
    }

    [Fact]
    public async Task OnRequest_StatusBelow400_Uses429AndCustomStatusOtherwise()
    {
        var low = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(FilterJson.Bucket(1, 1, "1s") + ""","status":{"code":"OK"}""")));
        var custom = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(FilterJson.Bucket(1, 1, "1s") + ""","status":{"code":"ServiceUnavailable"}""")));
        var request = new TestRequestHead();

        await low.HttpFilters!.RunAsync(request, null, _time, default);
        await custom.HttpFilters!.RunAsync(request, null, _time, default);

        Assert.Equal(429, (await low.HttpFilters.RunAsync(request, null, _time, default))!.Status);
        Assert.Equal(503, (await custom.HttpFilters.RunAsync(request, null, _time, default))!.Status);
    }

    [Fact]
    public async Task OnRequest_GrpcRequest_RepliesTrailersOnlyUnavailableOrResourceExhausted()
    {
        var plain = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(FilterJson.Bucket(1, 1, "1s"))));
        var exhausted = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(FilterJson.Bucket(1, 1, "1s") + ""","rate_limited_as_resource_exhausted":true""")));
        var grpc = new TestRequestHead().WithHeader("content-type", "application/grpc+proto");
        await plain.HttpFilters!.RunAsync(grpc, null, _time, default);
        await exhausted.HttpFilters!.RunAsync(grpc, null, _time, default);

        var unavailable = await plain.HttpFilters.RunAsync(grpc, null, _time, default);
        var resource = await exhausted.HttpFilters.RunAsync(grpc, null, _time, default);
        var notGrpc = await exhausted.HttpFilters.RunAsync(new TestRequestHead(), null, _time, default);

        Assert.Equal(200, unavailable!.Status);
        Assert.True(unavailable.Body.IsEmpty);
        Assert.Contains(unavailable.Headers.Add, h => h is { Name: "grpc-status", Value: "14" });
        Assert.Contains(unavailable.Headers.Add, h => h is { Name: "grpc-message", Value: "local_rate_limited" });
        Assert.Contains(unavailable.Headers.Add, h => h is { Name: "content-type", Value: "application/grpc" });
        Assert.Contains(resource!.Headers.Add, h => h is { Name: "grpc-status", Value: "8" });
        Assert.Equal(429, notGrpc!.Status);
    }

    [Fact]
    public async Task OnRequest_PerRouteAndVirtualHostConfigs_EachHaveTheirOwnBucket()
    {
        const string perRoute = """
            {"match":{"prefix":"/a"},"route":{"cluster":"c"},"typed_per_filter_config":{"envoy.filters.http.local_ratelimit":{"@type":"type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
              "stat_prefix":"route_a","token_bucket":{"max_tokens":1,"fill_interval":"1s"},"filter_enabled":{"default_value":{"numerator":100}},"filter_enforced":{"default_value":{"numerator":100}}}}},
            {"match":{"prefix":"/"},"route":{"cluster":"c"}}
            """;
        const string vhost = """
            ,"typed_per_filter_config":{"rl":{"@type":"type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
              "stat_prefix":"vhost","token_bucket":{"max_tokens":2,"fill_interval":"1s"},"filter_enabled":{"default_value":{"numerator":100}},"filter_enforced":{"default_value":{"numerator":100}}}}
            """;
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(""" "stat_prefix":"global" """), perRoute, vhost), _stats);
        var chain = config.HttpFilters!;
        var a = new TestRequestHead(pathAndQuery: "/a");
        var b = new TestRequestHead(pathAndQuery: "/b");
        var routeA = config.RouteTable.Match(a);
        var routeB = config.RouteTable.Match(b);

        Assert.Null(await chain.RunAsync(a, routeA, _time, default));
        Assert.NotNull(await chain.RunAsync(a, routeA, _time, default));
        Assert.Null(await chain.RunAsync(b, routeB, _time, default));
        Assert.Null(await chain.RunAsync(b, routeB, _time, default));
        Assert.NotNull(await chain.RunAsync(b, routeB, _time, default));
        // No route: the filter's own config, which has no bucket.
        Assert.Null(await chain.RunAsync(b, null, _time, default));

        Assert.Equal(1, Counter("route_a.http_local_rate_limit.enforced"));
        Assert.Equal(1, Counter("vhost.http_local_rate_limit.enforced"));
    }

    private long Counter(string name)
    {
        foreach (var counter in _stats.Counters)
        {
            if (counter.Key.FlatName == name)
            {
                return counter.Value;
            }
        }

        return 0;
    }
}
