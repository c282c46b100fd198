using Herald.Proxy.Config;
using Herald.Proxy.Http;
using Herald.Proxy.Http.Routing;
using Herald.Tests.Http.Filters;
using Herald.Tests.Http.Routing;
using Xunit;

namespace Herald.Tests.Http;

/// <summary>Translation of stream_idle_timeout, idle_timeout, max_stream_duration and grpc-timeout resolution.</summary>
public sealed class StreamTimeoutsTests
{
    private const string RoutePath = "hcm.route_config.virtual_hosts[0].routes[0].route";

    [Fact]
    public void Translate_Unset_EnvoyDefaults()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(string.Empty));

        Assert.Equal(TimeSpan.FromMinutes(5), config.StreamIdleTimeout);
        Assert.Equal(TimeSpan.Zero, config.MaxStreamDuration);
        Assert.Null(Action(config).StreamTimeouts);
    }

    [Fact]
    public void Translate_HcmFields_Honoured()
    {
        var config = FilterJson.Translate(Hcm("""
            "stream_idle_timeout":"0s","common_http_protocol_options":{"max_stream_duration":"30s"},
            """));

        Assert.Equal(TimeSpan.Zero, config.StreamIdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), config.MaxStreamDuration);
    }

    [Fact]
    public void Translate_RouteFields_Honoured()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(string.Empty, """
            {"match":{"prefix":"/"},"route":{"cluster":"c","idle_timeout":"7s",
             "max_stream_duration":{"max_stream_duration":"60s","grpc_timeout_header_max":"10s","grpc_timeout_header_offset":"0.05s"}}}
            """));

        var timeouts = Action(config).StreamTimeouts!;
        Assert.Equal(TimeSpan.FromSeconds(7), timeouts.IdleTimeout);
        Assert.Equal(TimeSpan.FromSeconds(60), timeouts.MaxStreamDuration);
        Assert.Equal(TimeSpan.FromSeconds(10), timeouts.GrpcTimeoutHeaderMax);
        Assert.Equal(TimeSpan.FromMilliseconds(50), timeouts.GrpcTimeoutHeaderOffset);
    }

    [Theory]
    [InlineData("""{"stream_idle_timeout":"-1s",""", "hcm.stream_idle_timeout")]
    [InlineData("""{"common_http_protocol_options":{"max_stream_duration":"-2s"},""", "hcm.common_http_protocol_options.max_stream_duration")]
    public void Translate_NegativeHcmDuration_ErrorNamesPath(string prefix, string path)
    {
        var json = prefix + FilterJson.HcmJson(string.Empty)[1..];

        var e = Assert.Throws<ConfigException>(() => FilterJson.Translate(json));

        Assert.Equal(path, e.FieldPath);
        Assert.False(string.IsNullOrEmpty(e.Fix));
    }

    [Theory]
    [InlineData("""{"idle_timeout":"-1s"}""", RoutePath + ".idle_timeout")]
    [InlineData("""{"max_stream_duration":{"max_stream_duration":"-1s"}}""", RoutePath + ".max_stream_duration.max_stream_duration")]
    [InlineData("""{"max_stream_duration":{"grpc_timeout_header_max":"-1s"}}""", RoutePath + ".max_stream_duration.grpc_timeout_header_max")]
    [InlineData("""{"max_stream_duration":{"grpc_timeout_header_offset":"1s"}}""", RoutePath + ".max_stream_duration.grpc_timeout_header_offset")]
    public void Translate_BadRouteField_ErrorNamesPath(string fields, string path)
    {
        var route = """{"match":{"prefix":"/"},"route":{"cluster":"c",""" + fields[1..] + "}";

        var e = Assert.Throws<ConfigException>(() => FilterJson.Translate(FilterJson.HcmJson(string.Empty, route)));

        Assert.Equal(path, e.FieldPath);
        Assert.False(string.IsNullOrEmpty(e.Fix));
    }

    [Fact]
    public void Resolve_RouteOverridesHcm()
    {
        var config = FilterJson.Translate(Hcm("""
            "stream_idle_timeout":"100s","common_http_protocol_options":{"max_stream_duration":"30s"},
            """, """{"match":{"prefix":"/"},"route":{"cluster":"c","idle_timeout":"0s","max_stream_duration":{"max_stream_duration":"5s"}}}"""));

        StreamTimeouts.Resolve(config, Action(config), new TestRequestHead(), out var idle, out var duration);

        Assert.Equal(TimeSpan.Zero, idle);
        Assert.Equal(TimeSpan.FromSeconds(5), duration);
    }

    [Theory]
    [InlineData("0s", null, "200m", 200)]
    [InlineData("1s", null, "5S", 1000)]
    [InlineData("1s", null, "0S", 1000)]
    [InlineData("0s", null, "0S", 0)]
    [InlineData("0s", "0.05s", "200m", 150)]
    [InlineData("0s", "0.5s", "200m", 200)]
    [InlineData("0s", null, "bogus", 30_000)]
    public void Resolve_GrpcTimeoutHeader_CappedAndOffset(string max, string? offset, string header, int expectedMs)
    {
        var offsetJson = offset is null ? string.Empty : $",\"grpc_timeout_header_offset\":\"{offset}\"";
        var config = FilterJson.Translate(FilterJson.HcmJson(
            string.Empty,
            """{"match":{"prefix":"/"},"route":{"cluster":"c","max_stream_duration":{"max_stream_duration":"30s","grpc_timeout_header_max":" """.TrimEnd()
            + max + "\"" + offsetJson + "}}}"));
        var request = new TestRequestHead().WithHeader("content-type", "application/grpc").WithHeader("grpc-timeout", header);

        StreamTimeouts.Resolve(config, Action(config), request, out _, out var duration);

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), duration);
    }

    [Fact]
    public void Resolve_GrpcTimeoutOnNonGrpcRequest_Ignored()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(string.Empty, """
            {"match":{"prefix":"/"},"route":{"cluster":"c","max_stream_duration":{"grpc_timeout_header_max":"0s"}}}
            """));
        var request = new TestRequestHead().WithHeader("grpc-timeout", "1S");

        StreamTimeouts.Resolve(config, Action(config), request, out _, out var duration);

        Assert.Equal(TimeSpan.Zero, duration);
    }

    [Fact]
    public void ReplyFor_GrpcRequest_DurationIsDeadlineExceededTrailersOnly()
    {
        var request = new TestRequestHead().WithHeader("content-type", "application/grpc+proto");

        var duration = StreamTimeouts.ReplyFor(StreamTimeoutKind.Duration, request);
        var idle = StreamTimeouts.ReplyFor(StreamTimeoutKind.Idle, new TestRequestHead());

        Assert.Equal(200, duration.Status);
        Assert.Equal(4, duration.GrpcStatus);
        Assert.Equal(408, idle.Status);
        Assert.Equal("stream timeout", idle.BodyText);
    }

    private static string Hcm(string fields, string routes = """{"match":{"prefix":"/"},"route":{"cluster":"c"}}""") =>
        "{" + fields + FilterJson.HcmJson(string.Empty, routes)[1..];

    private static ClusterAction Action(HttpConnectionManagerConfig config) =>
        (ClusterAction)config.RouteTable.Match(new TestRequestHead())!.Action;
}
