using System.Net;
using System.Net.Sockets;
using Herald.Proxy.Listeners;
using Xunit;

namespace Herald.Tests.Listeners;

public sealed class OriginalDestinationTests
{
    [Fact]
    public void Parse_SockaddrIn_ReadsBigEndianPortAndAddress()
    {
        // AF_INET (2, host order), port 8080 = 0x1F90, 10.250.1.2, 8 bytes of padding.
        byte[] sockaddr = [2, 0, 0x1F, 0x90, 10, 250, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0];
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.250.1.2"), 8080), OriginalDestination.Parse(sockaddr));
    }

    [Fact]
    public void Parse_SockaddrIn6_ReadsPortAddressAndScope()
    {
        var sockaddr = new byte[28];
        sockaddr[0] = 10; // AF_INET6
        sockaddr[2] = 0x01;
        sockaddr[3] = 0xBB; // 443
        IPAddress.Parse("fd00::1:2").GetAddressBytes().CopyTo(sockaddr, 8);
        var parsed = OriginalDestination.Parse(sockaddr);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("fd00::1:2"), 443), parsed);
    }

    [Fact]
    public void Parse_V4MappedSockaddrIn6_GivesIPv4()
    {
        var sockaddr = new byte[28];
        sockaddr[0] = 10;
        sockaddr[3] = 80;
        IPAddress.Parse("::ffff:10.1.2.3").GetAddressBytes().CopyTo(sockaddr, 8);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("10.1.2.3"), 80), OriginalDestination.Parse(sockaddr));
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 2, 0, 0, 80, 10, 0 })]
    [InlineData(new byte[] { 1, 0, 0, 80, 10, 0, 0, 1 })]
    [InlineData(new byte[] { 10, 0, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void Parse_ShortOrUnknownFamily_ReturnsNull(byte[] sockaddr)
    {
        Assert.Null(OriginalDestination.Parse(sockaddr));
    }

    [Fact]
    public async Task TryGet_NotRedirected_ReturnsNull()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using var accepted = await listener.AcceptAsync();
        Assert.Null(OriginalDestination.TryGet(accepted));
        Assert.Equal(listener.LocalEndPoint, OriginalDestination.FromTproxy(accepted));
    }
}
