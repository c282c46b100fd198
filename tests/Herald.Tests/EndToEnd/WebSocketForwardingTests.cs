using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Node ws client -> herald -> ws server: upgrade, text and binary echo, close handshake.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WebSocketForwardingTests
{
    [Fact(Timeout = 120_000)]
    public async Task Upgrade_ThroughHerald_EchoesTextAndBinaryAndCloses()
    {
        await using var server = await NodePeers.StartWsServerAsync();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ws", l =>
            {
                l.WebSockets = true;
                l.Route("/", "wsecho");
            })
            .Cluster("wsecho", server.Port));

        var result = await NodePeers.RunWsClientAsync($"ws://127.0.0.1:{herald.ListenerPort("ws")}/chat?room=1");

        Assert.True(result.Problems.Count == 0, string.Join('\n', result.Problems) + "\n" + result + "\n" + herald.Transcript());
        var saw = result.Result.GetProperty("serverSaw");
        Assert.Equal("/chat?room=1", saw.GetProperty("url").GetString());
        var headers = saw.GetProperty("headers");
        Assert.Equal("websocket", headers.GetProperty("upgrade").GetString(), ignoreCase: true);
        Assert.Equal("ws", headers.GetProperty("x-ws-client").GetString());
        Assert.Equal(1000, result.Result.GetProperty("closeCode").GetInt32());
    }
}
