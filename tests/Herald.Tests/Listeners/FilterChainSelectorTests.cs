using System.Net;
using Herald.Proxy.Listeners;
using Herald.Proxy.Tcp;
using Xunit;

namespace Herald.Tests.Listeners;

public sealed class FilterChainSelectorTests
{
    private static readonly IPAddress ServiceB = IPAddress.Parse("10.251.1.3");
    private static readonly IPAddress Unknown = IPAddress.Parse("10.251.1.4");

    [Fact]
    public void Select_KnownAddressOnPort_PicksTheChainNamingIt()
    {
        var listener = VirtualOutbound();

        Assert.Equal("outbound_9000_b", FilterChainSelector.Select(listener, 9000, ServiceB, null)?.Name);
    }

    [Fact]
    public void Select_UnknownAddressOnKnownPort_FallsToTheDefaultChain()
    {
        var listener = VirtualOutbound();

        Assert.Equal("passthrough", FilterChainSelector.Select(listener, 9000, Unknown, null)?.Name);
    }

    [Fact]
    public void Select_LongestPrefixWins()
    {
        var listener = Listener(
            null,
            Chain("wide", port: 9000, ranges: [new CidrRange(IPAddress.Parse("10.251.0.0"), 16)]),
            Chain("narrow", port: 9000, ranges: [new CidrRange(IPAddress.Parse("10.251.1.0"), 24)]));

        Assert.Equal("narrow", FilterChainSelector.Select(listener, 9000, ServiceB, null)?.Name);
        Assert.Equal("wide", FilterChainSelector.Select(listener, 9000, IPAddress.Parse("10.251.9.9"), null)?.Name);
    }

    [Fact]
    public void Select_ChainWithoutRangesOnSamePort_IsTheFallbackForOtherAddresses()
    {
        var listener = Listener(
            null,
            Chain("b", port: 9000, ranges: [new CidrRange(ServiceB, 32)]),
            Chain("any", port: 9000));

        Assert.Equal("b", FilterChainSelector.Select(listener, 9000, ServiceB, null)?.Name);
        Assert.Equal("any", FilterChainSelector.Select(listener, 9000, Unknown, null)?.Name);
    }

    [Fact]
    public void Select_HttpPortWithHttpClient_PicksTheHttpChain()
    {
        var listener = VirtualOutbound();
        var sniff = SniffResult.Http1;

        Assert.Equal("outbound_8080_http", FilterChainSelector.Select(listener, 8080, Unknown, sniff)?.Name);
    }

    [Fact]
    public void Select_HttpPortWithRawBytes_FallsToTheDefaultChain()
    {
        var listener = VirtualOutbound();
        var sniff = SniffResult.Other;

        Assert.Equal("passthrough", FilterChainSelector.Select(listener, 8080, ServiceB, sniff)?.Name);
    }

    [Fact]
    public void NeedsSniffing_TcpChainForDestination_IsFalseSoServerFirstProtocolsStartAtOnce()
    {
        var listener = VirtualOutbound();

        Assert.False(FilterChainSelector.NeedsSniffing(listener, 9000, ServiceB));
        Assert.False(FilterChainSelector.NeedsSniffing(listener, 5432, Unknown));
    }

    [Fact]
    public void NeedsSniffing_ChainMatchingApplicationProtocols_IsTrue()
    {
        Assert.True(FilterChainSelector.NeedsSniffing(VirtualOutbound(), 8080, ServiceB));
    }

    private static ListenerConfig VirtualOutbound() => Listener(
        Chain("passthrough"),
        Chain("outbound_8080_http", port: 8080, applicationProtocols: ["http/1.1", "http/1.0", "h2c"]),
        Chain("outbound_9000_b", port: 9000, ranges: [new CidrRange(ServiceB, 32)]));

    private static ListenerConfig Listener(FilterChainConfig? defaultChain, params FilterChainConfig[] chains) => new()
    {
        Name = "virtualOutbound",
        Address = new IPEndPoint(IPAddress.Any, 15001),
        FilterChains = chains,
        DefaultFilterChain = defaultChain,
        NeedsSniffing = true,
        UseOriginalDestination = true,
        Source = new Envoy.Config.Listener.V3.Listener(),
    };

    private static FilterChainConfig Chain(string name, int? port = null, CidrRange[]? ranges = null, string[]? applicationProtocols = null) => new()
    {
        Name = name,
        Match = new FilterChainMatchConfig
        {
            DestinationPort = port,
            PrefixRanges = ranges ?? [],
            ApplicationProtocols = applicationProtocols ?? [],
        },
        Tcp = new TcpProxyConfig { StatPrefix = name, Cluster = "c" },
    };
}
