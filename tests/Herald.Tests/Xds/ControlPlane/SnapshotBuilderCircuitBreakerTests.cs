using Envoy.Config.Cluster.V3;
using CircuitBreakersTranslator = Herald.Proxy.Upstream.CircuitBreakersTranslator;
using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

/// <summary>A service's circuit_breakers from the mesh file to every cluster of it.</summary>
public sealed class SnapshotBuilderCircuitBreakerTests
{
    private const string Mesh = """
        services:
          - name: guarded
            ports: [{port: 8080, protocol: http}]
            subsets: [{name: v1, labels: {version: v1}}]
            circuit_breakers:
              max_connections: 10
              max_pending_requests: 20
              max_requests: 30
              max_retries: 2
          - name: open
            ports: [{port: 9090, protocol: http}]
        gateways:
          - name: edge
            port: 8000
            routes: [{service: guarded}, {match: {path: {prefix: /open}}, service: open}]
        """;

    [Fact]
    public void Load_CircuitBreakersSection_IsRead()
    {
        var mesh = MeshConfigLoader.Load(Mesh);

        Assert.Equal(new MeshCircuitBreakers(10, 20, 30, 2), mesh.FindService("guarded")!.CircuitBreakers);
        Assert.Null(mesh.FindService("open")!.CircuitBreakers);
    }

    [Theory]
    [InlineData("max_requests: -1", "services[0].circuit_breakers.max_requests")]
    [InlineData("max_retries: many", "services[0].circuit_breakers.max_retries")]
    [InlineData("retry_budget: 20", "services[0].circuit_breakers.retry_budget")]
    public void Load_BadCircuitBreakers_NamesTheField(string setting, string field)
    {
        var yaml = $$"""
            services:
              - name: guarded
                ports: [{port: 8080, protocol: http}]
                circuit_breakers:
                  {{setting}}
            """;

        var error = Assert.Throws<MeshConfigException>(() => MeshConfigLoader.Load(yaml));

        Assert.Equal(field, error.Field);
    }

    [Theory]
    [InlineData(NodeKind.Gateway, "edge")]
    [InlineData(NodeKind.Sidecar, null)]
    public void Build_ServiceWithCircuitBreakers_EveryClusterOfItCarriesThem(NodeKind kind, string? gateway)
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());

        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(kind, gateway, "client", null));

        var clusters = snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message).ToDictionary(c => c.Name);
        foreach (var name in new[] { "outbound|8080||guarded", "outbound|8080|v1|guarded" })
        {
            // What the data plane makes of it.
            var thresholds = CircuitBreakersTranslator.Translate(clusters[name].CircuitBreakers, "circuit_breakers");
            Assert.Equal(10, thresholds.MaxConnections);
            Assert.Equal(20, thresholds.MaxPendingRequests);
            Assert.Equal(30, thresholds.MaxRequests);
            Assert.Equal(2, thresholds.MaxRetries);
        }

        Assert.Null(clusters["outbound|9090||open"].CircuitBreakers);
    }

    [Fact]
    public void Build_ProxylessNode_GetsNoCircuitBreakers()
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());

        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(NodeKind.Proxyless, null, "client", null));

        Assert.All(snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message), c => Assert.Null(c.CircuitBreakers));
    }
}
