using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Raw TCP through a tcp_proxy listener.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class TcpProxyTests
{
    [Fact(Timeout = 60_000)]
    public async Task EchoServer_OneMebibyte_ComesBackByteExact()
    {
        await using var echo = TcpEchoServer.Start();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .TcpListener("tcp", "echo")
            .Cluster("echo", echo.Port));

        var (sent, received) = await TcpChecks.EchoRoundTripAsync(herald.ListenerPort("tcp"), 1024 * 1024, TimeSpan.FromSeconds(30));

        Assert.Equal(sent.Length, received.Length);
        Assert.True(sent.AsSpan().SequenceEqual(received), "the echoed bytes differ from the bytes sent");
    }

    [Fact(Timeout = 60_000)]
    public async Task EchoServer_ClientHalfClosesRightAfterSending_StillGetsEveryByteBack()
    {
        await using var echo = TcpEchoServer.Start();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .TcpListener("tcp", "echo")
            .Cluster("echo", echo.Port));

        // The FIN often arrives before the upstream connection is even made; it must not end the relay.
        for (var i = 0; i < 30; i++)
        {
            var (sent, received) = await TcpChecks.SendHalfCloseThenReadAsync(herald.ListenerPort("tcp"), 1024, TimeSpan.FromSeconds(10));
            Assert.True(sent.AsSpan().SequenceEqual(received), $"attempt {i}: sent {sent.Length} bytes, {received.Length} came back");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ServerFirstProtocol_ClientSendsNothing_BannerArrivesQuickly()
    {
        await using var server = ServerFirstServer.Start();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .TcpListener("tcp", "smtp")
            .Cluster("smtp", server.Port));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var banner = await TcpChecks.ReadBannerAsync(herald.ListenerPort("tcp"), TimeSpan.FromSeconds(5));

        Assert.Equal(ServerFirstServer.Banner, banner);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"the banner took {started.Elapsed}");
    }
}
