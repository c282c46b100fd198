using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Herald.Tests.TestSupport.EndToEnd;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>stream_idle_timeout, max_stream_duration and grpc-timeout against real stalling upstreams.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class StreamTimeoutTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task StreamIdleTimeout_UpstreamStallsMidResponse_StreamEndedAndCounted(bool h2c)
    {
        await using var upstream = await RecordingUpstream.StartAsync("stall");
        upstream.Handler = async context =>
        {
            context.Response.ContentLength = 1000;
            await context.Response.Body.WriteAsync(new byte[10], context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            await HangAsync(context);
        };
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l =>
            {
                l.ExtraFields["stream_idle_timeout"] = "1s";
                l.Route("/", "stall");
            })
            .Cluster("stall", upstream.Port));
        using var client = TestHttp.CreateClient();
        var clock = Stopwatch.StartNew();

        using var request = new HttpRequestMessage(HttpMethod.Get, herald.ListenerUrl("ingress") + "/slow");
        if (h2c)
        {
            request.Version = HttpVersion.Version20;
            request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        }

        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsByteArrayAsync());

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(1, await herald.WaitForStatAsync("http.ingress_http.downstream_rq_idle_timeout", v => v >= 1));
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    public async Task MaxStreamDuration_UpstreamNeverAnswers_408AfterTheBound(bool h2c, bool retries, bool http2Cluster)
    {
        await using var upstream = await RecordingUpstream.StartAsync("silent");
        upstream.Handler = HangAsync;
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l =>
            {
                l.ExtraFields["common_http_protocol_options"] = new JsonObject { ["max_stream_duration"] = "0.3s" };
                if (retries)
                {
                    l.RawRoute(RetryTests.RetryRoute("/", "silent", "5xx", numRetries: 2, timeout: "20s"));
                }
                else
                {
                    l.Route("/", "silent", timeout: "20s");
                }
            })
            .Cluster("silent", http2Cluster ? upstream.H2cPort : upstream.Port, http2: http2Cluster));
        using var client = TestHttp.CreateClient();
        var clock = Stopwatch.StartNew();

        using var response = await RetryTests.SendAsync(client, herald.ListenerUrl("ingress") + "/x", h2c);

        Assert.Equal(HttpStatusCode.RequestTimeout, response.StatusCode);
        Assert.Equal("downstream duration timeout", await response.Content.ReadAsStringAsync());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(1, await herald.WaitForStatAsync("http.ingress_http.downstream_rq_max_duration_reached", v => v >= 1));
    }

    [Fact(Timeout = 60_000)]
    public async Task GrpcTimeoutHeader_HangingUpstream_DeadlineExceededQuickly_WithoutHeaderOnlyTheRouteTimeout()
    {
        await using var upstream = await RecordingUpstream.StartAsync("grpc");
        upstream.Handler = HangAsync;
        var route = new JsonObject
        {
            ["match"] = new JsonObject { ["prefix"] = "/" },
            ["route"] = new JsonObject
            {
                ["cluster"] = "grpc",
                ["timeout"] = "1.5s",
                ["max_stream_duration"] = new JsonObject { ["grpc_timeout_header_max"] = "0s" },
            },
        };
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.RawRoute(route))
            .Cluster("grpc", upstream.H2cPort, http2: true));
        using var client = TestHttp.CreateClient();

        var clock = Stopwatch.StartNew();
        using (var response = await client.SendAsync(GrpcRequest(herald.ListenerUrl("ingress"), "200m")))
        {
            await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("4", GrpcStatus(response));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.2), $"took {clock.Elapsed}");
        }

        clock.Restart();
        using (var response = await client.SendAsync(GrpcRequest(herald.ListenerUrl("ingress"), null)))
        {
            await response.Content.ReadAsByteArrayAsync();
            Assert.NotEqual("4", GrpcStatus(response));
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.4), $"took {clock.Elapsed}");
        }

        Assert.Equal(1, await herald.GetStatAsync("http.ingress_http.downstream_rq_max_duration_reached"));
    }

    [Fact(Timeout = 60_000)]
    public async Task ConnectionIdleTimeout_KeepAliveConnectionIdle_ClosedAndCounted_BusyConnectionKept()
    {
        await using var upstream = await RecordingUpstream.StartAsync("fast");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l =>
            {
                l.ExtraFields["common_http_protocol_options"] = new JsonObject { ["idle_timeout"] = "1s" };
                l.Route("/", "fast");
            })
            .Cluster("fast", upstream.Port));
        var port = herald.ListenerPort("ingress");
        const string request = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";

        // A connection busy every 300 ms for 3 s outlives three idle timeouts.
        using (var busy = await RawHttp.ConnectAsync(port))
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(3))
            {
                await busy.SendAsync(request);
                var (head, _) = await busy.ReadResponseAsync();
                Assert.StartsWith("HTTP/1.1 200", head);
                await Task.Delay(300);
            }
        }

        // An idle one is closed after the timeout, with nothing sent.
        using var idle = await RawHttp.ConnectAsync(port);
        await idle.SendAsync(request);
        await idle.ReadResponseAsync();
        var idleClock = Stopwatch.StartNew();
        var (text, closed) = await idle.ReadToCloseAsync(TimeSpan.FromSeconds(20));

        Assert.True(closed, "the idle connection stayed open");
        Assert.Equal(string.Empty, text);
        Assert.True(idleClock.Elapsed >= TimeSpan.FromSeconds(0.9), $"closed after {idleClock.Elapsed}");
        Assert.Equal(1, await herald.WaitForStatAsync("http.ingress_http.downstream_cx_idle_timeout", v => v >= 1));
    }

    private static HttpRequestMessage GrpcRequest(string baseUrl, string? grpcTimeout)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/pkg.Svc/Call")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 1, 7]),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        if (grpcTimeout is not null)
        {
            request.Headers.TryAddWithoutValidation("grpc-timeout", grpcTimeout);
        }

        return request;
    }

    private static string? GrpcStatus(HttpResponseMessage response) =>
        response.Headers.TryGetValues("grpc-status", out var values) || response.TrailingHeaders.TryGetValues("grpc-status", out values)
            ? string.Join(",", values)
            : null;

    private static async Task HangAsync(HttpContext context)
    {
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The proxy gave up on the stream.
        }
    }
}
