using System.Net;
using Herald.Tests.TestSupport.EndToEnd;
using Herald.Xds.ControlPlane.Dns;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane.Dns;

/// <summary>The DNS client against a real dnsmasq.</summary>
public sealed class DnsClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(3);

    [Fact]
    public async Task QueryAsync_SrvAndAddresses_AnswersWithPortsTargetsAndTtls()
    {
        await using var dns = await DnsmasqProcess.StartAsync(
            "--srv-host=_http._tcp.legacy.test,a.legacy.test,18001",
            "--srv-host=_http._tcp.legacy.test,b.legacy.test,18002",
            "--host-record=a.legacy.test,127.0.0.1",
            "--host-record=b.legacy.test,127.0.0.2,::1");
        var client = new DnsClient(dns.EndPoint, Timeout);

        var srv = await client.QueryAsync("_http._tcp.legacy.test", DnsClient.TypeSrv, CancellationToken.None);
        var a = await client.QueryAsync("b.legacy.test", DnsClient.TypeA, CancellationToken.None);
        var aaaa = await client.QueryAsync("b.legacy.test", DnsClient.TypeAaaa, CancellationToken.None);

        Assert.Equal(["a.legacy.test:18001", "b.legacy.test:18002"], srv.Select(r => $"{r.Target}:{r.Port}").Order(StringComparer.Ordinal));
        Assert.Equal([IPAddress.Parse("127.0.0.2")], a.Select(r => r.Address));
        Assert.Equal([IPAddress.IPv6Loopback], aaaa.Select(r => r.Address));
        Assert.All(a.Concat(aaaa), r => Assert.Equal(TimeSpan.FromSeconds(1), r.Ttl));
    }

    [Fact]
    public async Task QueryAsync_UnknownName_EmptyNotAFailure()
    {
        await using var dns = await DnsmasqProcess.StartAsync("--host-record=a.legacy.test,127.0.0.1", "--local=/legacy.test/");
        var client = new DnsClient(dns.EndPoint, Timeout);

        Assert.Empty(await client.QueryAsync("gone.legacy.test", DnsClient.TypeA, CancellationToken.None));
    }

    [Fact]
    public async Task QueryAsync_NoServerListening_FailsWithinTheTimeoutNamingTheServer()
    {
        var client = new DnsClient(new IPEndPoint(IPAddress.Loopback, FreePort.Next()), TimeSpan.FromMilliseconds(500));

        var e = await Assert.ThrowsAsync<DnsException>(() => client.QueryAsync("a.legacy.test", DnsClient.TypeA, CancellationToken.None));
        Assert.Contains("127.0.0.1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CompressionLoop_IsRefusedNotFollowedForever()
    {
        // Header: id 7, response, one answer; the answer's name points at itself.
        byte[] message = [0, 7, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 127, 0, 0, 1];

        Assert.Throws<DnsException>(() => DnsClient.Parse(message, 7, "x.test", DnsClient.TypeA));
    }
}
