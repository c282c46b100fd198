using System.Diagnostics;
using System.Text.Json.Nodes;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Local rate limit and fault injection through a real herald, over HTTP/1.1 and h2c.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class HttpFilterTests
{
    private const string RateLimitType = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
    private const string FaultType = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";

    [Theory(Timeout = 60_000)]
    [InlineData("--http1.1")]
    [InlineData("--http2-prior-knowledge")]
    public async Task LocalRateLimit_AfterBurst_429WithEnvoyBodyHeaderAndStats(string protocol)
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l =>
            {
                l.HttpFilters.Add(Filter("envoy.filters.http.local_ratelimit", RateLimitType, new JsonObject
                {
                    ["stat_prefix"] = "edge_rl",
                    ["token_bucket"] = new JsonObject { ["max_tokens"] = 3, ["tokens_per_fill"] = 1, ["fill_interval"] = "3600s" },
                    ["filter_enabled"] = Percent(100),
                    ["filter_enforced"] = Percent(100),
                }));
                l.Route("/", "up");
            })
            .Cluster("up", upstream.Port));
        var url = herald.ListenerUrl("ingress") + "/limited";

        var codes = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var ok = await Curl.RunAsync(protocol, "-s", "-o", "/dev/null", "-w", "%{http_code}", url);
            codes.Add(ok.Stdout);
        }

        var (limited, dump) = await Curl.RunWithHeaderDumpAsync(protocol, "-s", url);

        Assert.Equal(["200", "200", "200"], codes);
        Assert.Equal("local_rate_limited", limited.Stdout);
        Assert.Contains(" 429", dump, StringComparison.Ordinal);
        Assert.Contains("x-envoy-ratelimited: true", dump, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(3, upstream.Count);
        Assert.True(await herald.WaitForStatAsync("edge_rl.http_local_rate_limit.rate_limited", v => v >= 1) >= 1, herald.Transcript());
        Assert.True(await herald.WaitForStatAsync("edge_rl.http_local_rate_limit.ok", v => v >= 3) >= 3);
        Assert.True(await herald.WaitForStatAsync("edge_rl.http_local_rate_limit.enforced", v => v >= 1) >= 1);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("--http1.1")]
    [InlineData("--http2-prior-knowledge")]
    public async Task FaultAbort100Percent_ConfiguredStatusWithoutTouchingUpstream(string protocol)
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => FaultBootstrap(upstream, new JsonObject
        {
            ["abort"] = new JsonObject { ["http_status"] = 503, ["percentage"] = new JsonObject { ["numerator"] = 100 } },
        }));

        var result = await Curl.RunAsync(protocol, "-s", "-w", " %{http_code}", herald.ListenerUrl("ingress") + "/x");

        Assert.Equal("fault filter abort 503", result.Stdout);
        Assert.Equal(0, upstream.Count);
        Assert.True(await herald.WaitForStatAsync("http.ingress_http.fault.aborts_injected", v => v >= 1) >= 1, herald.Transcript());
    }

    [Fact(Timeout = 60_000)]
    public async Task FaultGrpcAbort_H2cGrpcRequest_Http200WithGrpcStatus()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => FaultBootstrap(upstream, new JsonObject
        {
            ["abort"] = new JsonObject { ["grpc_status"] = 14, ["percentage"] = new JsonObject { ["numerator"] = 100 } },
        }));

        var (result, dump) = await Curl.RunWithHeaderDumpAsync(
            "--http2-prior-knowledge", "-s", "-X", "POST", "-H", "content-type: application/grpc", "-H", "te: trailers",
            "--data-binary", "", herald.ListenerUrl("ingress") + "/pkg.Svc/Method");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("HTTP/2 200", dump, StringComparison.Ordinal);
        Assert.Contains("grpc-status: 14", dump, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("grpc-message: fault filter abort", dump, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, upstream.Count);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("--http1.1")]
    [InlineData("--http2-prior-knowledge")]
    public async Task FaultDelay300Ms_DelaysThenForwards(string protocol)
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => FaultBootstrap(upstream, new JsonObject
        {
            ["delay"] = new JsonObject { ["fixed_delay"] = "0.3s", ["percentage"] = new JsonObject { ["numerator"] = 100 } },
        }));
        var clock = Stopwatch.StartNew();

        var result = await Curl.RunAsync(protocol, "-s", "-o", "/dev/null", "-w", "%{http_code}", herald.ListenerUrl("ingress") + "/slow-down");
        clock.Stop();

        Assert.Equal("200", result.Stdout);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(300), $"answered after {clock.Elapsed}");
        Assert.Equal(1, upstream.Count);
        Assert.True(await herald.WaitForStatAsync("http.ingress_http.fault.delays_injected", v => v >= 1) >= 1);
    }

    private static BootstrapBuilder FaultBootstrap(RecordingUpstream upstream, JsonObject fault) => new BootstrapBuilder()
        .HttpListener("ingress", l =>
        {
            l.HttpFilters.Add(Filter("envoy.filters.http.fault", FaultType, fault));
            l.Route("/", "up");
        })
        .Cluster("up", upstream.Port);

    private static JsonObject Filter(string name, string type, JsonObject config)
    {
        var typed = new JsonObject { ["@type"] = type };
        foreach (var (key, value) in config)
        {
            typed[key] = value?.DeepClone();
        }

        return new JsonObject { ["name"] = name, ["typed_config"] = typed };
    }

    private static JsonObject Percent(int numerator) =>
        new() { ["default_value"] = new JsonObject { ["numerator"] = numerator, ["denominator"] = "HUNDRED" } };
}
