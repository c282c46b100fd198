using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Google.Protobuf;
using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace Herald.Tests.Xds.ControlPlane;

/// <summary>Sidecars whose traffic iptables intercepts: virtual listeners on 15001/15006 and passthrough clusters.</summary>
public sealed class SnapshotBuilderInterceptionTests : IDisposable
{
    private const string Mesh = """
        services:
          - name: api
            ports: [{port: 8080, protocol: http}]
          - name: books
            namespace: shop
            ports: [{port: 8080, protocol: http}]
          - name: cache
            ports: [{port: 6379, protocol: tcp}]
          - name: redis
            ports: [{port: 6379, protocol: tcp}]
          - name: queue
            ports: [{port: 5672, protocol: tcp}]
          - name: web
            ports:
              - {port: 80, protocol: http, target_port: 8000}
              - {port: 9000, protocol: grpc}
              - {port: 7000, protocol: tcp}
        external:
          - name: legacy
            port: 9090
            protocol: tcp
            addresses: ["192.168.1.5", "fd00::9"]
          - name: payments
            port: 443
            protocol: tls
            dns: api.payments.example
          - name: search
            port: 9200
            protocol: tcp
            dns: search.example
        sidecars:
          - workload: frontend
            service: web
            dependencies: [api, books, cache, redis, queue, legacy, payments, search]
          - workload: lonely
            dependencies: [api]
        """;

    private const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    private readonly MeshConfig _mesh = MeshConfigLoader.Load(Mesh);
    private readonly ServiceRegistry _registry = new(new ManualTimeProvider());

    public SnapshotBuilderInterceptionTests()
    {
        _registry.Register("api", "10.0.0.1", 8080);
        _registry.Register("api", "fd00::1", 8080);
        _registry.Register("books", "10.0.0.2", 8080);
        // Shared with api: api (first by name) keeps the domain.
        _registry.Register("books", "10.0.0.1", 8080);
        _registry.Register("cache", "fd00::7", 6379);
        _registry.Register("cache", "10.0.1.1", 6379);
        _registry.Register("redis", "10.0.1.1", 6379);
        _registry.Register("redis", "10.0.1.2", 6379);
        _registry.Register("web", "10.0.2.1", 8000);
    }

    public void Dispose() => _registry.Dispose();

    private static NodeRole Sidecar(string? workload, InterceptionMode mode = InterceptionMode.Redirect) =>
        new(NodeKind.Sidecar, null, workload, null, mode);

    private XdsSnapshot Build(NodeRole role) => SnapshotBuilder.Build(_mesh, _registry.View(), role);

    private static Listener ListenerOf(XdsSnapshot snapshot, string name) => (Listener)snapshot.Listeners.Resources[name].Message;

    private static Cluster ClusterOf(XdsSnapshot snapshot, string name) => (Cluster)snapshot.Clusters.Resources[name].Message;

    private static FilterChain Chain(Listener listener, string name) => Assert.Single(listener.FilterChains, c => c.Name == name);

    private static TcpProxy TcpProxyOf(FilterChain chain) => Assert.Single(chain.Filters).TypedConfig.Unpack<TcpProxy>();

    private static HttpConnectionManager ManagerOf(FilterChain chain) => Assert.Single(chain.Filters).TypedConfig.Unpack<HttpConnectionManager>();

    [Fact]
    public void Build_InterceptionSidecar_VirtualListenersReplacePortListeners()
    {
        var snapshot = Build(Sidecar("frontend"));

        Assert.Equal(
            [SnapshotBuilder.VirtualInboundListenerName, SnapshotBuilder.VirtualOutboundListenerName],
            snapshot.Listeners.Resources.Values.Where(r => !r.OnlyWhenNamed).Select(r => r.Name));
        var outbound = ListenerOf(snapshot, "virtualOutbound");
        Assert.Equal("0.0.0.0", outbound.Address.SocketAddress.Address);
        Assert.Equal(15001u, outbound.Address.SocketAddress.PortValue);
        Assert.Equal(TrafficDirection.Outbound, outbound.TrafficDirection);
        Assert.Null(outbound.Transparent);
        Assert.Equal(["envoy.filters.listener.original_dst", "envoy.filters.listener.tls_inspector"], outbound.ListenerFilters.Select(f => f.Name));
        Assert.EndsWith(".original_dst.v3.OriginalDst", outbound.ListenerFilters[0].TypedConfig.TypeUrl, StringComparison.Ordinal);
        Assert.Equal(
            ["outbound_443_payments", "outbound_6379_cache", "outbound_6379_redis", "outbound_8080_http", "outbound_9090_legacy"],
            outbound.FilterChains.Select(c => c.Name).Order(StringComparer.Ordinal));

        var passthrough = TcpProxyOf(outbound.DefaultFilterChain);
        Assert.Equal("PassthroughCluster", passthrough.StatPrefix);
        Assert.Equal("PassthroughCluster", passthrough.Cluster);
    }

    [Fact]
    public void Build_InterceptionSidecar_HttpChainMatchesPortAndSniffedProtocols()
    {
        var chain = Chain(ListenerOf(Build(Sidecar("frontend")), "virtualOutbound"), "outbound_8080_http");

        Assert.Equal(8080u, chain.FilterChainMatch.DestinationPort);
        Assert.Equal(["http/1.1", "http/1.0", "h2c"], chain.FilterChainMatch.ApplicationProtocols);
        Assert.Empty(chain.FilterChainMatch.PrefixRanges);
        var hcm = ManagerOf(chain);
        Assert.Equal(HttpConnectionManager.Types.CodecType.Auto, hcm.CodecType);
        Assert.Equal("outbound_8080", hcm.StatPrefix);
        Assert.Equal("outbound|8080", hcm.Rds.RouteConfigName);
        Assert.NotNull(hcm.Rds.ConfigSource.Ads);
        Assert.Equal(SnapshotBuilder.RouterFilterName, hcm.HttpFilters[^1].Name);
    }

    [Fact]
    public void Build_InterceptionSidecar_TcpChainsMatchKnownAddressesFirstServiceWins()
    {
        var outbound = ListenerOf(Build(Sidecar("frontend")), "virtualOutbound");

        var cache = Chain(outbound, "outbound_6379_cache");
        Assert.Equal(6379u, cache.FilterChainMatch.DestinationPort);
        Assert.Equal([("10.0.1.1", 32u), ("fd00::7", 128u)], cache.FilterChainMatch.PrefixRanges.Select(r => (r.AddressPrefix, r.PrefixLen!.Value)));
        Assert.Equal("outbound|6379||cache", TcpProxyOf(cache).Cluster);

        // 10.0.1.1 belongs to cache (first by name); redis keeps only its own address.
        var redis = Chain(outbound, "outbound_6379_redis");
        Assert.Equal([("10.0.1.2", 32u)], redis.FilterChainMatch.PrefixRanges.Select(r => (r.AddressPrefix, r.PrefixLen!.Value)));
        Assert.Equal("outbound|6379||redis", TcpProxyOf(redis).Cluster);

        var legacy = Chain(outbound, "outbound_9090_legacy");
        Assert.Equal(9090u, legacy.FilterChainMatch.DestinationPort);
        Assert.Equal([("192.168.1.5", 32u), ("fd00::9", 128u)], legacy.FilterChainMatch.PrefixRanges.Select(r => (r.AddressPrefix, r.PrefixLen!.Value)));
        Assert.Equal("outbound|9090||legacy", TcpProxyOf(legacy).Cluster);

        // No instances (queue) or only a DNS name (search): nothing to match on, the passthrough carries them.
        Assert.DoesNotContain(outbound.FilterChains, c => c.Name.EndsWith("_queue", StringComparison.Ordinal) || c.Name.EndsWith("_search", StringComparison.Ordinal));
    }

    [Fact]
    public void Build_InterceptionSidecar_TlsChainMatchesPortAndServerName()
    {
        var chain = Chain(ListenerOf(Build(Sidecar("frontend")), "virtualOutbound"), "outbound_443_payments");

        Assert.Equal(443u, chain.FilterChainMatch.DestinationPort);
        Assert.Equal("tls", chain.FilterChainMatch.TransportProtocol);
        Assert.Contains("api.payments.example", chain.FilterChainMatch.ServerNames);
        Assert.Equal("outbound|443||payments", TcpProxyOf(chain).Cluster);
    }

    [Fact]
    public void Build_InterceptionSidecar_PassthroughClusterIsOriginalDstKeepingDownstreamProtocol()
    {
        var cluster = ClusterOf(Build(Sidecar("frontend")), "PassthroughCluster");

        Assert.Equal(Cluster.Types.DiscoveryType.OriginalDst, cluster.Type);
        Assert.Equal(Cluster.Types.LbPolicy.ClusterProvided, cluster.LbPolicy);
        Assert.Equal(TimeSpan.FromSeconds(5), cluster.ConnectTimeout.ToTimeSpan());
        Assert.Null(cluster.UpstreamBindConfig);
        Assert.Null(cluster.LoadAssignment);
        var options = cluster.TypedExtensionProtocolOptions[HttpProtocolOptionsKey].Unpack<HttpProtocolOptions>();
        Assert.NotNull(options.UseDownstreamProtocolConfig.HttpProtocolOptions);
        Assert.NotNull(options.UseDownstreamProtocolConfig.Http2ProtocolOptions);
    }

    [Fact]
    public void Build_InterceptionSidecar_RouteDomainsIncludeInstanceIpsWithAllowAnyLast()
    {
        var config = (RouteConfiguration)Build(Sidecar("frontend")).Routes.Resources["outbound|8080"].Message;

        Assert.Equal(["api:8080", "books:8080", "allow_any"], config.VirtualHosts.Select(v => v.Name));
        var api = config.VirtualHosts[0].Domains;
        Assert.Equal(["api", "api:8080", "10.0.0.1", "10.0.0.1:8080", "[fd00::1]", "[fd00::1]:8080"], api);
        var books = config.VirtualHosts[1].Domains;
        Assert.Contains("books.shop.svc.cluster.local:8080", books);
        Assert.Contains("10.0.0.2", books);
        Assert.Contains("10.0.0.2:8080", books);
        Assert.DoesNotContain("10.0.0.1", books);
        Assert.DoesNotContain("10.0.0.1:8080", books);
        var all = config.VirtualHosts.SelectMany(v => v.Domains).ToList();
        Assert.Equal(all.Count, all.Distinct(StringComparer.Ordinal).Count());

        var allowAny = config.VirtualHosts[^1];
        Assert.Equal(["*"], allowAny.Domains);
        var route = Assert.Single(allowAny.Routes);
        Assert.Equal("/", route.Match.Prefix);
        Assert.Equal("PassthroughCluster", route.Route_.Cluster);

        var header = Assert.Single(config.RequestHeadersToAdd);
        Assert.Equal("x-herald-source-workload", header.Header.Key);
        Assert.Equal("frontend", header.Header.Value);
        Assert.Equal(HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd, header.AppendAction);
    }

    [Fact]
    public void Build_InterceptionSidecarWithoutWorkload_NoSourceWorkloadHeader()
    {
        var config = (RouteConfiguration)Build(Sidecar(null)).Routes.Resources["outbound|8080"].Message;

        Assert.Empty(config.RequestHeadersToAdd);
        Assert.Equal("allow_any", config.VirtualHosts[^1].Name);
    }

    [Fact]
    public void Build_InterceptionSidecar_VirtualInboundChainsPerInstancePort()
    {
        var inbound = ListenerOf(Build(Sidecar("frontend")), "virtualInbound");

        Assert.Equal(15006u, inbound.Address.SocketAddress.PortValue);
        Assert.Equal(TrafficDirection.Inbound, inbound.TrafficDirection);
        Assert.Null(inbound.Transparent);
        Assert.Equal(["envoy.filters.listener.original_dst"], inbound.ListenerFilters.Select(f => f.Name));
        Assert.Equal(
            ["inbound_7000", "inbound_8000_http", "inbound_8000", "inbound_9000_http", "inbound_9000"],
            inbound.FilterChains.Select(c => c.Name));

        var http = Chain(inbound, "inbound_8000_http");
        Assert.Equal(8000u, http.FilterChainMatch.DestinationPort);
        Assert.Equal(["http/1.1", "http/1.0", "h2c"], http.FilterChainMatch.ApplicationProtocols);
        var hcm = ManagerOf(http);
        Assert.Equal(HttpConnectionManager.Types.CodecType.Auto, hcm.CodecType);
        var routeConfig = hcm.RouteConfig;
        Assert.Equal("inbound|8000", routeConfig.Name);
        var host = Assert.Single(routeConfig.VirtualHosts);
        Assert.Equal(["*"], host.Domains);
        Assert.Equal("inbound|8000||web", Assert.Single(host.Routes).Route_.Cluster);
        var header = Assert.Single(routeConfig.RequestHeadersToAdd);
        Assert.Equal(("x-herald-destination-service", "web"), (header.Header.Key, header.Header.Value));
        Assert.Equal(HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd, header.AppendAction);

        // Non-HTTP bytes on an HTTP port still reach the application.
        var raw = Chain(inbound, "inbound_8000");
        Assert.Equal(8000u, raw.FilterChainMatch.DestinationPort);
        Assert.Empty(raw.FilterChainMatch.ApplicationProtocols);
        Assert.Equal("inbound|8000||web", TcpProxyOf(raw).Cluster);
        Assert.Equal("inbound|7000||web", TcpProxyOf(Chain(inbound, "inbound_7000")).Cluster);

        var passthrough = TcpProxyOf(inbound.DefaultFilterChain);
        Assert.Equal("InboundPassthroughCluster", passthrough.StatPrefix);
        Assert.Equal("InboundPassthroughCluster", passthrough.Cluster);
    }

    [Fact]
    public void Build_InterceptionSidecar_InboundClustersAreOriginalDstFrom127006()
    {
        var snapshot = Build(Sidecar("frontend"));

        foreach (var name in new[] { "inbound|7000||web", "inbound|8000||web", "inbound|9000||web", "InboundPassthroughCluster" })
        {
            var cluster = ClusterOf(snapshot, name);
            Assert.Equal(Cluster.Types.DiscoveryType.OriginalDst, cluster.Type);
            Assert.Equal(Cluster.Types.LbPolicy.ClusterProvided, cluster.LbPolicy);
            Assert.Equal(TimeSpan.FromSeconds(5), cluster.ConnectTimeout.ToTimeSpan());
            Assert.Null(cluster.LoadAssignment);
            Assert.Equal("127.0.0.6", cluster.UpstreamBindConfig.SourceAddress.Address);
            Assert.Equal(0u, cluster.UpstreamBindConfig.SourceAddress.PortValue);
        }

        Assert.Empty(ClusterOf(snapshot, "inbound|8000||web").TypedExtensionProtocolOptions);
        var grpc = ClusterOf(snapshot, "inbound|9000||web").TypedExtensionProtocolOptions[HttpProtocolOptionsKey].Unpack<HttpProtocolOptions>();
        Assert.NotNull(grpc.ExplicitHttpConfig.Http2ProtocolOptions);
        var passthrough = ClusterOf(snapshot, "InboundPassthroughCluster").TypedExtensionProtocolOptions[HttpProtocolOptionsKey].Unpack<HttpProtocolOptions>();
        Assert.NotNull(passthrough.UseDownstreamProtocolConfig.HttpProtocolOptions);
        Assert.NotNull(passthrough.UseDownstreamProtocolConfig.Http2ProtocolOptions);
    }

    [Fact]
    public void Build_TproxySidecar_InboundListenerIsTransparent()
    {
        var snapshot = Build(Sidecar("frontend", InterceptionMode.Tproxy));

        Assert.True(ListenerOf(snapshot, "virtualInbound").Transparent);
        Assert.Null(ListenerOf(snapshot, "virtualOutbound").Transparent);
    }

    [Fact]
    public void Build_InterceptionSidecarWithoutService_InboundHasOnlyDefaultChain()
    {
        var snapshot = Build(Sidecar("lonely"));

        var inbound = ListenerOf(snapshot, "virtualInbound");
        Assert.Empty(inbound.FilterChains);
        Assert.Equal("InboundPassthroughCluster", TcpProxyOf(inbound.DefaultFilterChain).Cluster);
        Assert.Contains("InboundPassthroughCluster", snapshot.Clusters.Resources.Keys);
        Assert.DoesNotContain(snapshot.Clusters.Resources.Keys, k => k.StartsWith("inbound|", StringComparison.Ordinal));
        Assert.Equal(["outbound_8080_http"], ListenerOf(snapshot, "virtualOutbound").FilterChains.Select(c => c.Name));
    }

    [Fact]
    public void Build_InterceptionSidecar_EveryReferenceResolves()
    {
        var snapshot = Build(Sidecar("frontend"));

        foreach (var listener in snapshot.Listeners.Resources.Values.Where(r => !r.OnlyWhenNamed).Select(r => (Listener)r.Message))
        {
            foreach (var filter in listener.FilterChains.Append(listener.DefaultFilterChain).SelectMany(c => c.Filters))
            {
                if (filter.Name == SnapshotBuilder.TcpProxyName)
                {
                    Assert.Contains(filter.TypedConfig.Unpack<TcpProxy>().Cluster, snapshot.Clusters.Resources.Keys);
                }
                else
                {
                    var hcm = filter.TypedConfig.Unpack<HttpConnectionManager>();
                    var config = hcm.Rds is { } rds ? (RouteConfiguration)snapshot.Routes.Resources[rds.RouteConfigName].Message : hcm.RouteConfig;
                    Assert.All(config.VirtualHosts.SelectMany(v => v.Routes), r => Assert.Contains(r.Route_.Cluster, snapshot.Clusters.Resources.Keys));
                }
            }
        }

        foreach (var cluster in snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message).Where(c => c.Type == Cluster.Types.DiscoveryType.Eds))
        {
            Assert.Contains(cluster.EdsClusterConfig.ServiceName, snapshot.Endpoints.Resources.Keys);
        }
    }

    [Fact]
    public void Build_InterceptionSidecar_EqualInputsGiveByteEqualResources()
    {
        var a = Build(Sidecar("frontend"));
        var b = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), new RegistryView(7, [.. _registry.View().Instances.Reverse()]), Sidecar("frontend"));

        foreach (var (x, y) in new[] { (a.Listeners, b.Listeners), (a.Routes, b.Routes), (a.Clusters, b.Clusters), (a.Endpoints, b.Endpoints) })
        {
            Assert.Equal(x.Version, y.Version);
            Assert.Equal(x.Resources.Keys, y.Resources.Keys);
            Assert.All(x.Resources, r => Assert.Equal(r.Value.Packed.ToByteArray(), y.Resources[r.Key].Packed.ToByteArray()));
        }

        // REDIRECT and TPROXY differ only in the inbound listener.
        var tproxy = Build(Sidecar("frontend", InterceptionMode.Tproxy));
        Assert.NotEqual(a.Listeners.Version, tproxy.Listeners.Version);
        Assert.Equal(a.Routes.Version, tproxy.Routes.Version);
        Assert.Equal(a.Clusters.Version, tproxy.Clusters.Version);
    }

    [Fact]
    public void Build_WithoutInterception_NoVirtualListenersOrPassthrough()
    {
        var snapshot = Build(Sidecar("frontend", InterceptionMode.None));

        Assert.Equal(
            ["0.0.0.0_443", "0.0.0.0_5672", "0.0.0.0_6379", "0.0.0.0_8080", "0.0.0.0_9090", "0.0.0.0_9200", "inbound"],
            snapshot.Listeners.Resources.Values.Where(r => !r.OnlyWhenNamed).Select(r => r.Name));
        Assert.DoesNotContain(snapshot.Clusters.Resources.Keys, k => k.Contains("Passthrough", StringComparison.Ordinal));
        var config = (RouteConfiguration)snapshot.Routes.Resources["outbound|8080"].Message;
        Assert.Equal(["api:8080", "books:8080"], config.VirtualHosts.Select(v => v.Name));
        Assert.DoesNotContain("10.0.0.1", config.VirtualHosts[0].Domains);
        Assert.Empty(config.RequestHeadersToAdd);
        var inbound = ClusterOf(snapshot, "inbound|8000||web");
        Assert.Equal(Cluster.Types.DiscoveryType.Static, inbound.Type);
        Assert.Null(inbound.UpstreamBindConfig);
    }

    [Theory]
    [InlineData(NodeKind.Gateway)]
    [InlineData(NodeKind.Proxyless)]
    public void Build_InterceptionOnNonSidecar_Ignored(NodeKind kind)
    {
        var plain = Build(new NodeRole(kind, kind == NodeKind.Gateway ? "edge" : null, "frontend", null));
        var asked = Build(new NodeRole(kind, kind == NodeKind.Gateway ? "edge" : null, "frontend", null, InterceptionMode.Redirect));

        Assert.Equal(plain.Listeners.Version, asked.Listeners.Version);
        Assert.Equal(plain.Routes.Version, asked.Routes.Version);
        Assert.Equal(plain.Clusters.Version, asked.Clusters.Version);
        Assert.DoesNotContain("PassthroughCluster", asked.Clusters.Resources.Keys);
        Assert.All(asked.Routes.Resources.Values, r => Assert.DoesNotContain(((RouteConfiguration)r.Message).VirtualHosts, v => v.Name == "allow_any"));
    }

    [Theory]
    [InlineData("REDIRECT", InterceptionMode.Redirect)]
    [InlineData("tproxy", InterceptionMode.Tproxy)]
    [InlineData("NAT", InterceptionMode.None)]
    [InlineData("", InterceptionMode.None)]
    public void Role_InterceptionMetadata_ParsedForSidecars(string value, InterceptionMode expected)
    {
        var node = new Node { Id = "n1", Cluster = "frontend", Metadata = new Google.Protobuf.WellKnownTypes.Struct() };
        node.Metadata.Fields[NodeRole.InterceptionKey] = Google.Protobuf.WellKnownTypes.Value.ForString(value);

        Assert.Equal(new NodeRole(NodeKind.Sidecar, null, "frontend", null, expected), NodeRole.Of(node));
    }

    [Fact]
    public void Role_InterceptionMetadataOnGatewayOrGrpcClient_Ignored()
    {
        var node = new Node { Id = "n1", Cluster = "frontend", UserAgentName = "grpc-node-js", Metadata = new Google.Protobuf.WellKnownTypes.Struct() };
        node.Metadata.Fields[NodeRole.InterceptionKey] = Google.Protobuf.WellKnownTypes.Value.ForString("REDIRECT");
        Assert.Equal(InterceptionMode.None, NodeRole.Of(node).Interception);

        node.UserAgentName = "herald";
        node.Metadata.Fields[NodeRole.GatewayKey] = Google.Protobuf.WellKnownTypes.Value.ForString("edge");
        Assert.Equal(InterceptionMode.None, NodeRole.Of(node).Interception);
    }
}
