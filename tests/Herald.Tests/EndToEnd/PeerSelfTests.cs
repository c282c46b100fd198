using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>
/// Every peer and fixture against itself, without herald: when a proxy test fails and these
/// pass, the failure is herald's.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class PeerSelfTests
{
    [Fact(Timeout = 60_000)]
    public async Task RecordingUpstream_CurlHttp1_RecordsRequest()
    {
        await using var upstream = await RecordingUpstream.StartAsync("self");

        var result = await Curl.RunAsync("-H", "x-probe: 1", "--data-binary", "abc", $"{upstream.Url}/anything?q=1");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("self", result.Stdout);
        var seen = Assert.Single(upstream.Requests);
        Assert.Equal("POST", seen.Method);
        Assert.Equal("/anything", seen.Path);
        Assert.Equal("?q=1", seen.Query);
        Assert.Equal("HTTP/1.1", seen.Protocol);
        Assert.Equal("1", seen.Header("x-probe"));
        Assert.Equal(3, seen.BodyLength);
    }

    [Fact(Timeout = 60_000)]
    public async Task RecordingUpstream_CurlH2cPriorKnowledge_ServesHttp2()
    {
        await using var upstream = await RecordingUpstream.StartAsync("self");

        var result = await Curl.RunAsync("--http2-prior-knowledge", $"http://127.0.0.1:{upstream.H2cPort}/x");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("self", result.Stdout);
        Assert.Equal("HTTP/2", Assert.Single(upstream.Requests).Protocol);
    }

    [Fact(Timeout = 60_000)]
    public async Task ChunkedTrailersUpstream_Curl_SeesTrailers()
    {
        await using var upstream = ChunkedTrailersUpstream.Start();

        var (result, dump) = await Curl.RunWithHeaderDumpAsync("-H", "TE: trailers", $"http://127.0.0.1:{upstream.Port}/trailers");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(ChunkedTrailersUpstream.Body, result.Stdout);
        Assert.Contains("x-trailer-a: one", dump, StringComparison.Ordinal);
        Assert.Contains("x-trailer-b: two", dump, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task RecordingUpstream_H2cTrailers_CurlSeesTrailers()
    {
        await using var upstream = await RecordingUpstream.StartAsync("self");

        var (result, dump) = await Curl.RunWithHeaderDumpAsync("--http2-prior-knowledge", $"http://127.0.0.1:{upstream.H2cPort}/trailers");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("first part;second part", result.Stdout);
        Assert.Contains("x-trailer-a: one", dump, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task RecordingUpstream_BytesEndpoint_StreamsPattern()
    {
        await using var upstream = await RecordingUpstream.StartAsync("self");
        using var client = TestHttp.CreateClient();

        var body = await client.GetByteArrayAsync($"{upstream.Url}/bytes/100000");

        Assert.Equal(100_000, body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            Assert.True(body[i] == (byte)(i % 251), $"byte {i}");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task H2load_AgainstH2cUpstream_AllSucceed()
    {
        await using var upstream = await RecordingUpstream.StartAsync("self");

        var run = await H2load.RunAsync($"http://127.0.0.1:{upstream.H2cPort}/", requests: 2000, clients: 4, streams: 10);

        Assert.True(run.Succeeded == 2000 && run.Status2xx == 2000, run.Process.ToString());
    }

    [Fact(Timeout = 120_000)]
    public async Task GrpcClient_AgainstGrpcServer_AllCallKindsPass()
    {
        await using var server = await NodePeers.StartGrpcServerAsync();

        var result = await NodePeers.RunGrpcClientAsync(server.Address);

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, result.ToString());
        Assert.Equal(5, result.Result.GetProperty("failure").GetProperty("code").GetInt32());
    }

    [Fact(Timeout = 120_000)]
    public async Task WsClient_AgainstWsServer_EchoesAndCloses()
    {
        await using var server = await NodePeers.StartWsServerAsync();

        var result = await NodePeers.RunWsClientAsync($"ws://{server.Address}/chat");

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, result.ToString());
        Assert.Equal("/chat", result.Result.GetProperty("serverSaw").GetProperty("url").GetString());
        Assert.Equal(JsonValueKind.Object, result.Result.GetProperty("serverSaw").GetProperty("headers").ValueKind);
    }

    [Fact(Timeout = 60_000)]
    public async Task TcpEchoServer_OneMebibyte_ComesBackByteExact()
    {
        await using var server = TcpEchoServer.Start();

        var (sent, received) = await TcpChecks.EchoRoundTripAsync(server.Port, 1024 * 1024, TimeSpan.FromSeconds(30));

        Assert.True(sent.AsSpan().SequenceEqual(received), $"received {received.Length} bytes, different from what was sent");
    }

    [Fact(Timeout = 60_000)]
    public async Task ServerFirstServer_ClientSilent_BannerArrives()
    {
        await using var server = ServerFirstServer.Start();

        var banner = await TcpChecks.ReadBannerAsync(server.Port, TimeSpan.FromSeconds(5));

        Assert.Equal(ServerFirstServer.Banner, banner);
    }

    [Fact(Timeout = 60_000)]
    public async Task Nginx_AsUpstream_Answers()
    {
        await using var nginx = await NginxUpstream.StartAsync();

        var result = await Curl.RunAsync($"{nginx.Url}/");
        var big = await Curl.RunAsync("-o", "/dev/null", "-w", "%{size_download}", $"{nginx.Url}/big");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(NginxUpstream.Body, result.Stdout);
        Assert.Equal($"{NginxUpstream.BigSize}", big.Stdout);
    }
}
