using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>HTTP/1.1 through herald with curl and raw sockets: framing, keep-alive, headers.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class Http1ForwardingTests
{
    [Fact(Timeout = 60_000)]
    public async Task Get_ThroughHerald_ReturnsUpstreamResponse()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));

        var result = await Curl.RunAsync("-w", "\n%{http_code} %{http_version}", $"{herald.ListenerUrl("ingress")}/hello?x=1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("up\n200 1.1", result.Stdout);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("GET", seen.Method);
        Assert.Equal("/hello", seen.Path);
        Assert.Equal("?x=1", seen.Query);
        Assert.Equal("HTTP/1.1", seen.Protocol);
    }

    [Fact(Timeout = 60_000)]
    public async Task Post_ContentLength_UpstreamGetsWholeBody()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));
        using var body = TempBody(100_000);

        var result = await Curl.RunAsync("--data-binary", "@" + body.Path, $"{herald.ListenerUrl("ingress")}/discard");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("100000", result.Stdout);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("POST", seen.Method);
        Assert.Equal(100_000, seen.BodyLength);
    }

    [Fact(Timeout = 60_000)]
    public async Task Post_Chunked_UpstreamGetsWholeBody()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));
        using var body = TempBody(300_000);

        var result = await Curl.RunAsync(
            "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + body.Path, $"{herald.ListenerUrl("ingress")}/discard");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("300000", result.Stdout);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal(300_000, seen.BodyLength);
        // Re-framing is allowed (chunked or a Content-Length), any other coding is not.
        Assert.True(seen.Header("transfer-encoding") is null or "chunked", seen.ToString());
    }

    [Fact(Timeout = 60_000)]
    public async Task Post_Expect100Continue_ClientGetsContinueAndUpstreamGetsBody()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));
        using var body = TempBody(2 * 1024 * 1024);

        // curl waits up to 20 s for the 100 before sending anyway: without the interim response
        // no "100 Continue" appears in its trace.
        var result = await Curl.RunAsync(
            "-v", "-H", "Expect: 100-continue", "--expect100-timeout", "20",
            "--data-binary", "@" + body.Path, $"{herald.ListenerUrl("ingress")}/discard");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("< HTTP/1.1 100 Continue", result.Stderr, StringComparison.Ordinal);
        Assert.Equal($"{2 * 1024 * 1024}", result.Stdout);
        Assert.Equal(2 * 1024 * 1024, Assert.Single(upstream.Requests).BodyLength);
    }

    [Fact(Timeout = 60_000)]
    public async Task Head_SizedResource_NoBodyAndContentLengthKept()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));
        using var raw = await RawHttp.ConnectAsync(herald.ListenerPort("ingress"));

        await raw.SendAsync("HEAD /bytes/12345 HTTP/1.1\r\nHost: test\r\n\r\n");
        var head = await raw.ReadHeadAsync();
        // If a body followed the HEAD response, the next response would start with its bytes.
        await raw.SendAsync("GET /next HTTP/1.1\r\nHost: test\r\n\r\n");
        var next = await raw.ReadHeadAsync();

        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains("content-length: 12345\r\n", head, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("HTTP/1.1 200", next, StringComparison.Ordinal);
        Assert.Equal("HEAD", upstream.Requests[0].Method);
    }

    [Fact(Timeout = 60_000)]
    public async Task KeepAlive_TwoUrlsInOneCurl_ReuseTheConnection()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));
        var url = herald.ListenerUrl("ingress");

        var result = await Curl.RunAsync("-v", $"{url}/one", $"{url}/two");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("upup", result.Stdout);
        Assert.Contains("Re-using existing connection", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Connection: close", result.Stderr, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["/one", "/two"], upstream.Requests.Select(r => r.Path));
    }

    [Fact(Timeout = 60_000)]
    public async Task ChunkedResponseWithTrailers_TrailersReachClient()
    {
        await using var upstream = ChunkedTrailersUpstream.Start();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "trailers"))
            .Cluster("trailers", upstream.Port));

        var (result, dump) = await Curl.RunWithHeaderDumpAsync("-H", "TE: trailers", $"{herald.ListenerUrl("ingress")}/t");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(ChunkedTrailersUpstream.Body, result.Stdout);
        Assert.Contains("x-trailer-a: one", dump, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("x-trailer-b: two", dump, StringComparison.OrdinalIgnoreCase);
    }

    [Fact(Timeout = 60_000)]
    public async Task LargeResponse_SixteenMebibytes_ArrivesIntact()
    {
        const int Size = 16 * 1024 * 1024;
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream));
        var file = Path.GetTempFileName();
        try
        {
            var result = await Curl.RunAsync("-o", file, "-w", "%{http_code}", $"{herald.ListenerUrl("ingress")}/bytes/{Size}");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal("200", result.Stdout);
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.Equal(Size, bytes.Length);
            for (var i = 0; i < bytes.Length; i++)
            {
                if (bytes[i] != (byte)(i % 251))
                {
                    Assert.Fail($"byte {i} is {bytes[i]}, expected {i % 251}");
                }
            }
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HopByHopHeaders_RemovedAndForwardingHeadersSet(bool edge)
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => OneRoute(upstream, edge));
        using var raw = await RawHttp.ConnectAsync(herald.ListenerPort("ingress"));

        await raw.SendAsync(
            "GET /first HTTP/1.1\r\nHost: test\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n" +
            "Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: foo/1\r\nX-Custom: kept\r\n\r\n");
        var (first, firstBody) = await raw.ReadResponseAsync();
        await raw.SendAsync("GET /second HTTP/1.1\r\nHost: test\r\nTE: gzip\r\n\r\n");
        var (second, _) = await raw.ReadResponseAsync();

        Assert.StartsWith("HTTP/1.1 200", first, StringComparison.Ordinal);
        Assert.Equal("up", firstBody);
        Assert.StartsWith("HTTP/1.1 200", second, StringComparison.Ordinal);
        Assert.Equal(2, upstream.Count);
        var seen = upstream.Requests[0];
        foreach (var hop in new[] { "connection", "keep-alive", "proxy-connection", "upgrade", "transfer-encoding" })
        {
            Assert.False(seen.HasHeader(hop), $"'{hop}' reached the upstream:\n{seen}");
        }

        Assert.Equal("trailers", seen.Header("te"));
        Assert.Equal("kept", seen.Header("x-custom"));
        Assert.Equal("http", seen.Header("x-forwarded-proto"));
        if (edge)
        {
            // use_remote_address: the edge appends the peer, as Envoy does.
            Assert.Contains("127.0.0.1", seen.Header("x-forwarded-for") ?? string.Empty, StringComparison.Ordinal);
        }
        else
        {
            // Envoy's default leaves x-forwarded-for alone.
            Assert.False(seen.HasHeader("x-forwarded-for"), $"x-forwarded-for was added:\n{seen}");
        }

        Assert.True(Guid.TryParse(seen.Header("x-request-id"), out _), $"x-request-id is not a UUID:\n{seen}");
        Assert.False(upstream.Requests[1].HasHeader("te"), $"TE without trailers reached the upstream:\n{upstream.Requests[1]}");
        Assert.NotEqual(seen.Header("x-request-id"), upstream.Requests[1].Header("x-request-id"));
    }

    private static BootstrapBuilder OneRoute(RecordingUpstream upstream, bool useRemoteAddress = false) => new BootstrapBuilder()
        .HttpListener("ingress", l =>
        {
            l.UseRemoteAddress = useRemoteAddress;
            l.Route("/", "up");
        })
        .Cluster("up", upstream.Port);

    private static TempFile TempBody(int size)
    {
        var file = new TempFile();
        var bytes = new byte[size];
        Random.Shared.NextBytes(bytes);
        File.WriteAllBytes(file.Path, bytes);
        return file;
    }
}
