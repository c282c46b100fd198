using Herald.Tests.TestSupport.EndToEnd;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>HTTP/2 with prior knowledge (h2c) on both sides of herald.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class H2cForwardingTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(null)]
    [InlineData("AUTO")]
    [InlineData("HTTP2")]
    public async Task CurlPriorKnowledge_ToH2cUpstream_ForwardsOverHttp2(string? codec)
    {
        await using var upstream = await RecordingUpstream.StartAsync("h2");
        await using var herald = await HeraldProcess.StartAsync(() => H2Route(upstream, codec));

        var result = await Curl.RunAsync(
            "--http2-prior-knowledge", "-H", "x-probe: h2", "-w", "\n%{http_code} %{http_version}", $"{herald.ListenerUrl("ingress")}/h2?q=1");

        Assert.True(result.ExitCode == 0, result.ToString() + herald.Transcript());
        Assert.Equal("h2\n200 2", result.Stdout);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("HTTP/2", seen.Protocol);
        Assert.Equal("/h2", seen.Path);
        Assert.Equal("?q=1", seen.Query);
        Assert.Equal("h2", seen.Header("x-probe"));
    }

    [Fact(Timeout = 60_000)]
    public async Task Http1Client_AutoCodecToH2cUpstream_TranslatesProtocol()
    {
        await using var upstream = await RecordingUpstream.StartAsync("h2");
        await using var herald = await HeraldProcess.StartAsync(() => H2Route(upstream, null));
        using var body = new TempFile();
        await File.WriteAllBytesAsync(body.Path, new byte[200_000]);

        var result = await Curl.RunAsync("--http1.1", "--data-binary", "@" + body.Path, "-w", " %{http_version}", $"{herald.ListenerUrl("ingress")}/discard");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("200000 1.1", result.Stdout);
        Assert.Equal("HTTP/2", Assert.Single(upstream.Requests).Protocol);
    }

    [Fact(Timeout = 60_000)]
    public async Task Trailers_FromH2cUpstream_ReachH2cClient()
    {
        await using var upstream = await RecordingUpstream.StartAsync("h2");
        await using var herald = await HeraldProcess.StartAsync(() => H2Route(upstream, null));

        var (result, dump) = await Curl.RunWithHeaderDumpAsync("--http2-prior-knowledge", $"{herald.ListenerUrl("ingress")}/trailers");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("first part;second part", result.Stdout);
        Assert.Contains("x-trailer-a: one", dump, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("x-trailer-b: two", dump, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 60_000)]
    public async Task RouteTimeout_H2cUpstream_BoundsTheHeadNotTheBody()
    {
        // The route timeout covers the wait for the response head: a hanging upstream gets a
        // 504 at the bound; a response whose head came in time streams past it.
        await using var upstream = await RecordingUpstream.StartAsync("h2");
        upstream.Handler = async context =>
        {
            if (context.Request.Path == "/hang")
            {
                await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
                return;
            }

            await context.Response.WriteAsync("head in time;");
            await context.Response.Body.FlushAsync();
            await Task.Delay(TimeSpan.FromSeconds(1.2));
            await context.Response.WriteAsync("body after the bound");
        };
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "h2", timeout: "0.6s"))
            .Cluster("h2", upstream.H2cPort, http2: true));
        using var client = TestHttp.CreateClient();

        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var hung = await RetryTests.SendAsync(client, herald.ListenerUrl("ingress") + "/hang", h2c: true);
        var hungAfter = clock.Elapsed;
        using var slow = await RetryTests.SendAsync(client, herald.ListenerUrl("ingress") + "/slow", h2c: true);
        var slowBody = await slow.Content.ReadAsStringAsync();

        Assert.Equal(System.Net.HttpStatusCode.GatewayTimeout, hung.StatusCode);
        Assert.Equal("upstream request timeout", await hung.Content.ReadAsStringAsync());
        Assert.True(hungAfter >= TimeSpan.FromSeconds(0.55) && hungAfter < TimeSpan.FromSeconds(5), $"504 after {hungAfter}");
        Assert.Equal(System.Net.HttpStatusCode.OK, slow.StatusCode);
        Assert.Equal("head in time;body after the bound", slowBody);
        Assert.Equal(1, await herald.GetStatAsync("cluster.h2.upstream_rq_timeout"));
    }

    [Fact(Timeout = 120_000)]
    public async Task H2load_2000Requests4Clients10Streams_All2xx()
    {
        await using var upstream = await RecordingUpstream.StartAsync("h2");
        await using var herald = await HeraldProcess.StartAsync(() => H2Route(upstream, null));

        var run = await H2load.RunAsync($"{herald.ListenerUrl("ingress")}/", requests: 2000, clients: 4, streams: 10);

        Assert.True(run.Succeeded == 2000 && run.Failed == 0 && run.Status2xx == 2000, run.Process.ToString());
        Assert.Equal(2000, upstream.Count);
    }

    private static BootstrapBuilder H2Route(RecordingUpstream upstream, string? codec) => new BootstrapBuilder()
        .HttpListener("ingress", l =>
        {
            l.Codec = codec;
            l.Route("/", "h2");
        })
        .Cluster("h2", upstream.H2cPort, http2: true);
}
