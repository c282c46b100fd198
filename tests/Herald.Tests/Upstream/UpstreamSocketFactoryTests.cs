using System.Net;
using System.Net.Sockets;
using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class UpstreamSocketFactoryTests
{
    [Fact]
    public async Task ConnectAsync_WithSourceAddress_PeerSeesThatSource()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var remote = (IPEndPoint)listener.LocalEndpoint;

        using var socket = await UpstreamSocketFactory.ConnectAsync(remote, new IPEndPoint(IPAddress.Parse("127.0.0.6"), 0), CancellationToken.None);
        using var accepted = await listener.AcceptSocketAsync();

        Assert.Equal(IPAddress.Parse("127.0.0.6"), ((IPEndPoint)accepted.RemoteEndPoint!).Address);
        Assert.True(socket.NoDelay);
    }

    [Fact]
    public async Task ConnectAsync_SourceOfAnotherFamily_ConnectsUnbound()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();

        using var socket = await UpstreamSocketFactory.ConnectAsync(
            (IPEndPoint)listener.LocalEndpoint, new IPEndPoint(IPAddress.Parse("::6"), 0), CancellationToken.None);
        using var accepted = await listener.AcceptSocketAsync();

        Assert.Equal(IPAddress.Loopback, ((IPEndPoint)accepted.RemoteEndPoint!).Address);
    }

    [Fact]
    public async Task ConnectAsync_Refused_ThrowsAndLeavesNoSocket()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var remote = (IPEndPoint)listener.LocalEndpoint;
        listener.Stop();

        await Assert.ThrowsAsync<SocketException>(async () =>
            await UpstreamSocketFactory.ConnectAsync(remote, new IPEndPoint(IPAddress.Parse("127.0.0.6"), 0), CancellationToken.None));
    }
}
