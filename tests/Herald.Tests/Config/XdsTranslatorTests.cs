using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;
using Herald.Tests.TestSupport;
using Herald.Xds.Client;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Config;

public sealed class XdsTranslatorTests
{
    private const string Mesh = """
        services:
          - name: web
            ports: [{port: 8080, protocol: http}]
            subsets:
              - {name: v1, labels: {version: v1}, version: 1.0.0}
          - name: cache
            ports: [{port: 6379, protocol: tcp}]
        gateways:
          - name: edge
            port: 8000
            routes: [{service: web}]
        sidecars:
          - workload: frontend
            service: web
            dependencies: [web, cache]
        """;

    [Theory]
    [InlineData(NodeKind.Sidecar, null, "frontend", "web")]
    [InlineData(NodeKind.Gateway, "edge", null, null)]
    public void Translate_ControlPlaneSnapshot_IsAcceptedWhole(NodeKind kind, string? gateway, string? workload, string? service)
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());
        registry.Register("web", "10.1.0.1", 8080, new Dictionary<string, string> { ["version"] = "v1" }, "1.0.0");
        registry.Register("cache", "10.1.0.2", 6379);
        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(kind, gateway, workload, service));

        var config = XdsTranslator.Translate(EmptyStatic(), ToResources(snapshot), new StatsStore());

        Assert.NotEmpty(config.Listeners);
        Assert.NotEmpty(config.Clusters);
        if (kind == NodeKind.Sidecar)
        {
            // The inbound listener matches chains on the original destination (SO_ORIGINAL_DST).
            var inbound = Assert.Single(config.Listeners, l => l.Name == SnapshotBuilder.InboundListenerName);
            Assert.True(inbound.UseOriginalDestination);
        }
    }

    [Theory]
    [InlineData(InterceptionMode.Redirect)]
    [InlineData(InterceptionMode.Tproxy)]
    public void Translate_InterceptionSidecarSnapshot_IsAcceptedWhole(InterceptionMode mode)
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());
        registry.Register("web", "10.1.0.1", 8080, new Dictionary<string, string> { ["version"] = "v1" }, "1.0.0");
        registry.Register("cache", "10.1.0.2", 6379);
        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(NodeKind.Sidecar, null, "frontend", "web", mode));

        var config = XdsTranslator.Translate(EmptyStatic(), ToResources(snapshot), new StatsStore());

        var outbound = Assert.Single(config.Listeners, l => l.Name == SnapshotBuilder.VirtualOutboundListenerName);
        Assert.True(outbound.UseOriginalDestination);
        Assert.Equal(15001, outbound.Address.Port);
        Assert.NotNull(outbound.DefaultFilterChain?.Tcp);
        var inbound = Assert.Single(config.Listeners, l => l.Name == SnapshotBuilder.VirtualInboundListenerName);
        Assert.Equal(mode == InterceptionMode.Tproxy, inbound.Transparent);
        var passthrough = Assert.Single(config.Clusters, c => c.Name == SnapshotBuilder.PassthroughClusterName);
        Assert.Equal(Herald.Proxy.Upstream.DiscoveryType.OriginalDst, passthrough.Type);
        Assert.Equal(Herald.Proxy.Upstream.UpstreamProtocol.UseDownstream, passthrough.Protocol);
        var delivery = Assert.Single(config.Clusters, c => c.Name == "inbound|8080||web");
        Assert.Equal(System.Net.IPAddress.Parse("127.0.0.6"), delivery.SourceAddress?.Address);

        // A TCP dependency's instance address picks its chain; any other address passes through.
        var cache = Herald.Proxy.Listeners.FilterChainSelector.Select(outbound, 6379, System.Net.IPAddress.Parse("10.1.0.2"), null);
        Assert.Equal("outbound|6379||cache", cache?.Tcp?.Cluster);
        var other = Herald.Proxy.Listeners.FilterChainSelector.Select(outbound, 6379, System.Net.IPAddress.Parse("10.9.9.9"), null);
        Assert.Equal(SnapshotBuilder.PassthroughClusterName, other?.Tcp?.Cluster);
    }

    [Fact]
    public void Translate_BadDynamicCluster_NamesTheResource()
    {
        var cluster = new Cluster { Name = "broken", Type = Cluster.Types.DiscoveryType.Static, PerConnectionBufferLimitBytes = 1024 };
        var resources = XdsResources.Empty with { Clusters = new Dictionary<string, Cluster> { ["broken"] = cluster } };

        var error = Assert.Throws<ConfigException>(() => XdsTranslator.Translate(EmptyStatic(), resources, new StatsStore()));

        Assert.Equal("Cluster 'broken'.per_connection_buffer_limit_bytes", error.FieldPath);
    }

    private static ProxyConfig EmptyStatic() => new()
    {
        Bootstrap = new Envoy.Config.Bootstrap.V3.Bootstrap(),
        Listeners = [],
        Clusters = [],
    };

    private static XdsResources ToResources(XdsSnapshot snapshot) => new(
        snapshot.Listeners.Resources.ToDictionary(r => r.Key, r => (Listener)r.Value.Message),
        snapshot.Routes.Resources.ToDictionary(r => r.Key, r => (RouteConfiguration)r.Value.Message),
        snapshot.Clusters.Resources.ToDictionary(r => r.Key, r => (Cluster)r.Value.Message),
        snapshot.Endpoints.Resources.ToDictionary(r => r.Key, r => (ClusterLoadAssignment)r.Value.Message),
        new Dictionary<string, Envoy.Extensions.TransportSockets.Tls.V3.Secret>(),
        new Dictionary<string, string>());
}
