using Herald.Proxy.Config;
using Herald.Proxy.Http.Filters;
using Herald.Proxy.Observability.Stats;
using Herald.Tests.Http.Routing;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Http.Filters;

public sealed class FaultFilterTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly StatsStore _stats = new();

    [Fact]
    public async Task OnRequest_Abort100Percent_RepliesStatusWithEnvoyBody()
    {
        var chain = Chain(""" "abort":{"http_status":503,"percentage":{"numerator":100}}""");

        var reply = await chain.RunAsync(new TestRequestHead(), null, _time, default);

        Assert.Equal(503, reply!.Status);
        Assert.Equal("fault filter abort", reply.BodyText);
        Assert.Equal("FI", reply.ResponseFlag);
        Assert.Equal(1, Stat("http.ingress.fault.aborts_injected"));
        Assert.Equal(0, Gauge("http.ingress.fault.active_faults"));
    }

    [Fact]
    public async Task OnRequest_PercentageUnsetOrZero_NeverFaults()
    {
        var unset = Chain(""" "abort":{"http_status":503}""");
        var zero = Chain(""" "abort":{"http_status":503,"percentage":{"numerator":0}}""");

        for (var i = 0; i < 20; i++)
        {
            Assert.Null(await unset.RunAsync(new TestRequestHead(), null, _time, default));
            Assert.Null(await zero.RunAsync(new TestRequestHead(), null, _time, default));
        }
    }

    [Fact]
    public async Task OnRequest_SeededHalfPercentage_AbortsRoughlyHalf()
    {
        var settings = FaultSettings.Translate(Parse(""" "abort":{"http_status":500,"percentage":{"numerator":50}}"""), "f");
        var filter = new FaultFilter(settings, _stats, "ingress", new Random(42));
        var aborted = 0;

        for (var i = 0; i < 1000; i++)
        {
            if (await filter.OnRequestAsync(new TestRequestHead(), null, _time, default) is not null)
            {
                aborted++;
            }
        }

        Assert.InRange(aborted, 400, 600);
    }

    [Fact]
    public async Task OnRequest_GrpcAbort_RepliesHttp200WithGrpcStatus()
    {
        var chain = Chain(""" "abort":{"grpc_status":14,"percentage":{"numerator":100}}""");

        var reply = await chain.RunAsync(new TestRequestHead(), null, _time, default);

        Assert.Equal(200, reply!.Status);
        Assert.True(reply.Body.IsEmpty);
        Assert.Contains(reply.Headers.Add, h => h is { Name: "grpc-status", Value: "14" });
        Assert.Contains(reply.Headers.Add, h => h is { Name: "grpc-message", Value: "fault filter abort" });
    }

    [Fact]
    public async Task OnRequest_HttpAbortOfGrpcRequest_MapsToGrpcStatus()
    {
        var chain = Chain(""" "abort":{"http_status":503,"percentage":{"numerator":100}}""");

        var reply = await chain.RunAsync(new TestRequestHead().WithHeader("content-type", "application/grpc"), null, _time, default);

        Assert.Equal(200, reply!.Status);
        Assert.Contains(reply.Headers.Add, h => h is { Name: "grpc-status", Value: "14" });
    }

    [Fact]
    public async Task OnRequest_HeaderAbort_UsesRequestHeadersOnlyWhenSent()
    {
        var chain = Chain(""" "abort":{"header_abort":{},"percentage":{"numerator":100}}""");

        Assert.Null(await chain.RunAsync(new TestRequestHead(), null, _time, default));
        Assert.Null(await chain.RunAsync(new TestRequestHead().WithHeader("x-envoy-fault-abort-request", "700"), null, _time, default));
        var http = await chain.RunAsync(new TestRequestHead().WithHeader("x-envoy-fault-abort-request", "418"), null, _time, default);
        var grpc = await chain.RunAsync(new TestRequestHead().WithHeader("x-envoy-fault-abort-grpc-request", "5"), null, _time, default);
        var none = await chain.RunAsync(new TestRequestHead().WithHeader("x-envoy-fault-abort-request", "418").WithHeader("x-envoy-fault-abort-request-percentage", "0"), null, _time, default);

        Assert.Equal(418, http!.Status);
        Assert.Contains(grpc!.Headers.Add, h => h is { Name: "grpc-status", Value: "5" });
        Assert.Null(none);
    }

    [Fact]
    public async Task OnRequest_HeadersMatcher_FaultsOnlyMatchingRequests()
    {
        var chain = Chain(""" "abort":{"http_status":503,"percentage":{"numerator":100}},"headers":[{"name":"x-chaos","exact_match":"on"}]""");

        Assert.Null(await chain.RunAsync(new TestRequestHead(), null, _time, default));
        Assert.Null(await chain.RunAsync(new TestRequestHead().WithHeader("x-chaos", "off"), null, _time, default));
        Assert.NotNull(await chain.RunAsync(new TestRequestHead().WithHeader("x-chaos", "on"), null, _time, default));
    }

    [Fact]
    public async Task OnRequest_FixedDelay_WaitsOnVirtualTimeThenContinues()
    {
        var chain = Chain(""" "delay":{"fixed_delay":"2s","percentage":{"numerator":100}}""");

        var pending = chain.RunAsync(new TestRequestHead(), null, _time, default).AsTask();
        Assert.False(pending.IsCompleted);
        Assert.Equal(1, Gauge("http.ingress.fault.active_faults"));
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(pending.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Null(await pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, Stat("http.ingress.fault.delays_injected"));
        Assert.Equal(0, Gauge("http.ingress.fault.active_faults"));
    }

    [Fact]
    public async Task OnRequest_DelayThenAbort_AbortsAfterTheDelay()
    {
        var chain = Chain(""" "delay":{"fixed_delay":"1s","percentage":{"numerator":100}},"abort":{"http_status":500,"percentage":{"numerator":100}}""");

        var pending = chain.RunAsync(new TestRequestHead(), null, _time, default).AsTask();
        Assert.False(pending.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(500, (await pending.WaitAsync(TimeSpan.FromSeconds(10)))!.Status);
    }

    [Fact]
    public async Task OnRequest_HeaderDelay_DelaysByTheHeaderMilliseconds()
    {
        var chain = Chain(""" "delay":{"header_delay":{},"percentage":{"numerator":100}}""");

        Assert.Null(await chain.RunAsync(new TestRequestHead(), null, _time, default));
        var pending = chain.RunAsync(new TestRequestHead().WithHeader("x-envoy-fault-delay-request", "300"), null, _time, default).AsTask();
        _time.Advance(TimeSpan.FromMilliseconds(299));
        Assert.False(pending.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Null(await pending.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task OnRequest_ClientGoesAwayDuringDelay_ReturnsClientGoneAndReleasesTheFault()
    {
        var chain = Chain(""" "delay":{"fixed_delay":"10s","percentage":{"numerator":100}}""");
        using var aborted = new CancellationTokenSource();

        var pending = chain.RunAsync(new TestRequestHead(), null, _time, aborted.Token).AsTask();
        await aborted.CancelAsync();
        var reply = await pending.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(reply!.IsClientGone);
        Assert.Equal(0, Gauge("http.ingress.fault.active_faults"));
    }

    [Fact]
    public async Task OnRequest_MaxActiveFaultsReached_LetsRequestThroughAndCountsOverflow()
    {
        var chain = Chain(""" "delay":{"fixed_delay":"1s","percentage":{"numerator":100}},"max_active_faults":1""");

        var first = chain.RunAsync(new TestRequestHead(), null, _time, default).AsTask();
        var second = await chain.RunAsync(new TestRequestHead(), null, _time, default);

        Assert.False(first.IsCompleted);
        Assert.Null(second);
        Assert.Equal(1, Stat("http.ingress.fault.faults_overflow"));
        _time.Advance(TimeSpan.FromSeconds(1));
        await first.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(chain.RunAsync(new TestRequestHead(), null, _time, default).IsCompleted);
    }

    [Fact]
    public async Task OnRequest_PerRouteOverride_ReplacesTheFilterConfig()
    {
        const string routes = """
            {"match":{"prefix":"/calm"},"route":{"cluster":"c"},"typed_per_filter_config":{"envoy.filters.http.fault":{"@type":"type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault"}}},
            {"match":{"prefix":"/teapot"},"route":{"cluster":"c"},"typed_per_filter_config":{"envoy.filters.http.fault":{"@type":"type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault","abort":{"http_status":418,"percentage":{"numerator":100}}}}},
            {"match":{"prefix":"/"},"route":{"cluster":"c"}}
            """;
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.Fault(""" "abort":{"http_status":503,"percentage":{"numerator":100}}"""), routes), _stats);

        async Task<int?> StatusOf(string path)
        {
            var request = new TestRequestHead(pathAndQuery: path);
            return (await config.HttpFilters!.RunAsync(request, config.RouteTable.Match(request), _time, default))?.Status;
        }

        Assert.Null(await StatusOf("/calm"));
        Assert.Equal(418, await StatusOf("/teapot"));
        Assert.Equal(503, await StatusOf("/other"));
    }

    public static TheoryData<string, string> Rejected => new()
    {
        { """ "upstream_cluster":"c" """, ".upstream_cluster" },
        { """ "downstream_nodes":["n"] """, ".downstream_nodes" },
        { """ "response_rate_limit":{"fixed_limit":{"limit_kbps":1}} """, ".response_rate_limit" },
        { """ "delay":{"percentage":{"numerator":1}} """, ".delay" },
        { """ "delay":{"fixed_delay":"0s"} """, ".delay" },
        { """ "abort":{"http_status":700} """, ".abort.http_status" },
        { """ "abort":{"percentage":{"numerator":1}} """, ".abort" },
        { """ "headers":[{"name":"x","range_match":{"start":1,"end":2}}] """, ".headers[0].range_match" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Translate_UnsupportedOrInvalidField_ThrowsNamingThePath(string body, string suffix)
    {
        var error = Assert.Throws<ConfigException>(() => FilterJson.Translate(FilterJson.HcmJson(FilterJson.Fault(body))));

        Assert.StartsWith("hcm.http_filters[0].typed_config" + suffix, error.FieldPath, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_EveryHonouredField_IsCarriedOver()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.Fault("""
            "delay":{"fixed_delay":"0.3s","percentage":{"numerator":25,"denominator":"MILLION"}},
            "abort":{"grpc_status":4,"percentage":{"numerator":10}},
            "headers":[{"name":"x-test"}],"max_active_faults":7,"delay_percent_runtime":"ignored"
            """)));

        var settings = Assert.IsType<FaultFilter>(Assert.Single(config.HttpFilters!.Filters)).Settings;
        Assert.Equal(TimeSpan.FromMilliseconds(300), settings.FixedDelay);
        Assert.Equal(new FractionalPercentage(25, 1_000_000), settings.DelayPercentage);
        Assert.Equal(4, settings.AbortGrpcStatus);
        Assert.Equal(new FractionalPercentage(10, 100), settings.AbortPercentage);
        Assert.Single(settings.Headers);
        Assert.Equal(7u, settings.MaxActiveFaults);
    }

    [Fact]
    public async Task RunAsync_RateLimitThenFault_FirstReplyWins()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(
            FilterJson.RateLimit(FilterJson.Bucket(1, 1, "1s")) + "," + FilterJson.Fault(""" "abort":{"http_status":503,"percentage":{"numerator":100}}""")), _stats);

        Assert.Equal(503, (await config.HttpFilters!.RunAsync(new TestRequestHead(), null, _time, default))!.Status);
        Assert.Equal(429, (await config.HttpFilters.RunAsync(new TestRequestHead(), null, _time, default))!.Status);
    }

    private Herald.Proxy.Http.Filters.HttpFilterChain Chain(string body) =>
        FilterJson.Translate(FilterJson.HcmJson(FilterJson.Fault(body)), _stats).HttpFilters!;

    private static Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault Parse(string body) =>
        Google.Protobuf.JsonParser.Default.Parse<Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault>("{" + body + "}");

    private long Stat(string name)
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

    private long Gauge(string name)
    {
        foreach (var gauge in _stats.Gauges)
        {
            if (gauge.Key.FlatName == name)
            {
                return gauge.Value;
            }
        }

        return 0;
    }
}
