using System.Net;
using Herald.Proxy.Listeners;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using static Herald.Tests.EndToEnd.Interception.InterceptionTestKit;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// Real iptables in network namespaces made by each test: idempotence, tamper repair, foreign
/// rules, exact cleanup, and where connections really go. Needs root; fails (never skips) without it.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class IptablesNamespaceTests
{
    [Theory]
    [InlineData("REDIRECT")]
    [InlineData("TPROXY")]
    public void Install_Twice_EqualsOnce(string mode)
    {
        using var pair = NamespacePair.Create();
        var first = Install(pair, "--inbound-mode", mode);
        var once = pair.RuleState(pair.App);
        var second = Install(pair, "--inbound-mode", mode);

        Assert.True(first.Changed);
        Assert.Contains("-A OUTPUT -p tcp -j HERALD_OUTPUT", once, StringComparison.Ordinal);
        Assert.False(second.Changed, string.Join("\n", second.Drift));
        Assert.Empty(second.Drift);
        Assert.Equal(once, pair.RuleState(pair.App));
        Assert.Empty(Verify(pair, "--inbound-mode", mode).Drift);
    }

    [Fact]
    public void Install_AfterTampering_DetectsAndRepairs()
    {
        using var pair = NamespacePair.Create();
        Install(pair);
        var clean = pair.RuleState(pair.App);
        pair.Must(pair.App, "iptables", "-t", "nat", "-D", "HERALD_OUTPUT", "1");
        pair.Must(pair.App, "iptables", "-t", "nat", "-A", "HERALD_REDIRECT", "-j", "RETURN");
        pair.Must(pair.App, "ip6tables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-j", "HERALD_OUTPUT");
        pair.Must(pair.App, "iptables", "-t", "nat", "-D", "PREROUTING", "-p", "tcp", "-j", "HERALD_INBOUND");

        var drift = Verify(pair).Drift;
        Assert.Contains(drift, d => d.StartsWith("IPv4 nat/HERALD_OUTPUT: differs", StringComparison.Ordinal));
        Assert.Contains(drift, d => d.StartsWith("IPv4 nat/HERALD_REDIRECT: differs", StringComparison.Ordinal));
        Assert.Contains(drift, d => d.StartsWith("IPv6 nat/OUTPUT: jumps", StringComparison.Ordinal));
        Assert.Contains(drift, d => d.StartsWith("IPv4 nat/PREROUTING: jumps", StringComparison.Ordinal));

        var repair = Install(pair);
        Assert.True(repair.Changed);
        Assert.Equal(clean, pair.RuleState(pair.App));
        Assert.Empty(Verify(pair).Drift);
    }

    [Theory]
    [InlineData("REDIRECT")]
    [InlineData("TPROXY")]
    public void InstallThenUninstall_ForeignRulesSurviveAndOriginalIsRestoredExactly(string mode)
    {
        using var pair = NamespacePair.Create();
        foreach (var tool in new[] { "iptables", "ip6tables" })
        {
            pair.Must(pair.App, tool, "-t", "nat", "-N", "FOREIGN");
            pair.Must(pair.App, tool, "-t", "nat", "-A", "FOREIGN", "-p", "tcp", "--dport", "25", "-j", "RETURN");
            pair.Must(pair.App, tool, "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-j", "FOREIGN");
            pair.Must(pair.App, tool, "-t", "nat", "-A", "PREROUTING", "-p", "udp", "-j", "RETURN");
            pair.Must(pair.App, tool, "-t", "mangle", "-A", "PREROUTING", "-p", "udp", "-j", "ACCEPT");
            pair.Must(pair.App, tool, "-t", "filter", "-A", "INPUT", "-p", "tcp", "--dport", "22", "-j", "ACCEPT");
        }

        pair.Must(pair.App, "ip", "rule", "add", "fwmark", "0x7", "lookup", "77");
        var original = pair.RuleState(pair.App);

        Install(pair, "--inbound-mode", mode);
        var installed = pair.RuleState(pair.App);
        Assert.Contains("-A OUTPUT -p tcp -j FOREIGN", installed, StringComparison.Ordinal);
        Assert.Contains("-A FOREIGN -p tcp -m tcp --dport 25 -j RETURN", installed, StringComparison.Ordinal);
        Assert.Contains("-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT", installed, StringComparison.Ordinal);
        Assert.Contains("fwmark 0x7 lookup 77", installed, StringComparison.Ordinal);
        Assert.Equal(mode == "TPROXY", installed.Contains("fwmark 0x539 lookup 133", StringComparison.Ordinal));

        var removed = Uninstall(pair);
        Assert.True(removed.Changed);
        Assert.Equal(original, pair.RuleState(pair.App));
        Assert.False(Uninstall(pair).Changed);
    }

    [Fact]
    public void Install_SwitchingMode_LeavesNoStaleChainsOrRoutes()
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--inbound-mode", "TPROXY");
        Install(pair);
        var state = pair.RuleState(pair.App);
        Assert.DoesNotContain("HERALD_TPROXY", state, StringComparison.Ordinal);
        Assert.DoesNotContain("fwmark 0x539", state, StringComparison.Ordinal);
        Assert.Empty(Verify(pair).Drift);
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nft")]
    public async Task Install_AppConnectsToPeer_IsRedirectedToProxyPortWithOriginalDestination(string backend)
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--backend", backend);
        using var proxy = pair.Listen(pair.App, new IPEndPoint(IPAddress.Any, 15001));

        var client = ConnectAsync(pair.App, 1000, pair.PeerAddress, 8080);
        using var accepted = await AcceptAsync(proxy);
        var original = OriginalDestination.TryGet(accepted);
        await ReplyAsync(accepted, "proxy");
        var result = await client;

        Assert.Equal(new IPEndPoint(pair.PeerAddress, 8080), original);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("got:proxy", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nft")]
    public async Task Install_ProxyUid_IsNotRedirected(string backend)
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--backend", backend);
        using var proxy = pair.Listen(pair.App, new IPEndPoint(IPAddress.Any, 15001));
        using var server = pair.Listen(pair.Peer, new IPEndPoint(IPAddress.Any, 8080));

        var client = ConnectAsync(pair.App, 1337, pair.PeerAddress, 8080);
        using var accepted = await AcceptAsync(server);
        await ReplyAsync(accepted, "peer");
        var result = await client;

        Assert.Contains("got:peer", result.Stdout, StringComparison.Ordinal);
        Assert.False(HasPending(proxy));
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nft")]
    public async Task Install_AppToLoopback_IsNotRedirected(string backend)
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--backend", backend);
        using var proxy = pair.Listen(pair.App, new IPEndPoint(IPAddress.Any, 15001));
        using var local = pair.Listen(pair.App, new IPEndPoint(IPAddress.Loopback, 8080));

        var client = ConnectAsync(pair.App, 1000, IPAddress.Loopback, 8080);
        using var accepted = await AcceptAsync(local);
        await ReplyAsync(accepted, "local");
        var result = await client;

        Assert.Contains("got:local", result.Stdout, StringComparison.Ordinal);
        Assert.False(HasPending(proxy));
    }

    [Fact]
    public async Task Install_ExcludedOutboundPort_IsNotRedirected()
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--exclude-outbound-ports", "8080");
        using var proxy = pair.Listen(pair.App, new IPEndPoint(IPAddress.Any, 15001));
        using var server = pair.Listen(pair.Peer, new IPEndPoint(IPAddress.Any, 8080));

        var client = ConnectAsync(pair.App, 1000, pair.PeerAddress, 8080);
        using var accepted = await AcceptAsync(server);
        await ReplyAsync(accepted, "peer");

        Assert.Contains("got:peer", (await client).Stdout, StringComparison.Ordinal);
        Assert.False(HasPending(proxy));
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nft")]
    public async Task Install_PeerConnectsToApp_IsRedirectedToInboundPort(string backend)
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--backend", backend);
        using var inbound = pair.Listen(pair.App, new IPEndPoint(IPAddress.Any, 15006));

        var client = ConnectAsync(pair.Peer, 1000, pair.AppAddress, 8080);
        using var accepted = await AcceptAsync(inbound);
        var original = OriginalDestination.TryGet(accepted);
        await ReplyAsync(accepted, "inbound");

        Assert.Equal(new IPEndPoint(pair.AppAddress, 8080), original);
        Assert.Contains("got:inbound", (await client).Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nft")]
    public async Task InstallTproxy_PeerConnectsToApp_ArrivesAtTransparentListenerWithOriginalAddresses(string backend)
    {
        using var pair = NamespacePair.Create();
        Install(pair, "--backend", backend, "--inbound-mode", "TPROXY");
        using var inbound = pair.Listen(pair.App, new IPEndPoint(IPAddress.Any, 15006), transparent: true);

        var client = ConnectAsync(pair.Peer, 1000, pair.AppAddress, 8080);
        using var accepted = await AcceptAsync(inbound);
        var original = OriginalDestination.FromTproxy(accepted);
        var source = (IPEndPoint)accepted.RemoteEndPoint!;
        await ReplyAsync(accepted, "tproxy");

        Assert.Equal(new IPEndPoint(pair.AppAddress, 8080), original);
        Assert.Equal(pair.PeerAddress, source.Address);
        Assert.Contains("got:tproxy", (await client).Stdout, StringComparison.Ordinal);
    }
}
