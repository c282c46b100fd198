using System.Net;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Proxy.Listeners;
using CidrRange = Envoy.Config.Core.V3.CidrRange;
using SocketAddress = Envoy.Config.Core.V3.SocketAddress;
using Herald.Proxy.Observability.Stats;
using TcpProxyProto = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;
using Xunit;

namespace Herald.Tests.Listeners;

public sealed class ListenerTranslatorTests
{
    private const string P = "static_resources.listeners[0]";

    [Fact]
    public void Translate_PrefixRanges_AreMatchedOnTheDestination()
    {
        var listener = Listener();
        listener.FilterChains[0].FilterChainMatch = new FilterChainMatch
        {
            DestinationPort = 9000,
            PrefixRanges = { new CidrRange { AddressPrefix = "10.251.1.3", PrefixLen = 32 }, new CidrRange { AddressPrefix = "fd00::", PrefixLen = 64 } },
        };

        var config = ListenerTranslator.Translate(listener, P, new StatsStore());

        var ranges = config.FilterChains[0].Match.PrefixRanges;
        Assert.Equal(["10.251.1.3/32", "fd00::/64"], ranges.Select(r => r.ToString()));
        Assert.Equal("b", FilterChainSelector.Select(config, 9000, IPAddress.Parse("10.251.1.3"), null)?.Name);
        Assert.Null(FilterChainSelector.Select(config, 9000, IPAddress.Parse("10.251.1.4"), null));
    }

    [Fact]
    public void Translate_PrefixNotAnAddress_ThrowsNamingIt()
    {
        var listener = Listener();
        listener.FilterChains[0].FilterChainMatch = new FilterChainMatch { PrefixRanges = { new CidrRange { AddressPrefix = "pod-b", PrefixLen = 32 } } };

        var error = Assert.Throws<ConfigException>(() => ListenerTranslator.Translate(listener, P, new StatsStore()));

        Assert.Equal(P + ".filter_chains[0].filter_chain_match.prefix_ranges[0].address_prefix", error.FieldPath);
    }

    [Fact]
    public void Translate_PrefixLongerThanAddress_ThrowsNamingPrefixLen()
    {
        var listener = Listener();
        listener.FilterChains[0].FilterChainMatch = new FilterChainMatch { PrefixRanges = { new CidrRange { AddressPrefix = "10.0.0.0", PrefixLen = 33 } } };

        var error = Assert.Throws<ConfigException>(() => ListenerTranslator.Translate(listener, P, new StatsStore()));

        Assert.Equal(P + ".filter_chains[0].filter_chain_match.prefix_ranges[0].prefix_len", error.FieldPath);
    }

    [Fact]
    public void Translate_Transparent_IsRead()
    {
        var listener = Listener();
        listener.Transparent = true;

        Assert.True(ListenerTranslator.Translate(listener, P, new StatsStore()).Transparent);
        Assert.False(ListenerTranslator.Translate(Listener(), P, new StatsStore()).Transparent);
    }

    private static Listener Listener()
    {
        var listener = new Listener
        {
            Name = "virtualOutbound",
            Address = new Address { SocketAddress = new SocketAddress { Address = "0.0.0.0", PortValue = 15001 } },
        };
        var chain = new FilterChain { Name = "b" };
        chain.Filters.Add(new Filter { Name = ListenerTranslator.TcpProxyName, TypedConfig = Any.Pack(new TcpProxyProto { StatPrefix = "b", Cluster = "b" }) });
        listener.FilterChains.Add(chain);
        return listener;
    }
}
