using Cluster = Envoy.Config.Cluster.V3.Cluster;
using ClusterTranslator = Herald.Proxy.Upstream.ClusterTranslator;
using Herald.Proxy.Upstream.Health;
using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

/// <summary>A service's outlier_detection and health_check from the mesh file to every cluster of it.</summary>
public sealed class SnapshotBuilderHealthTests
{
    private const string Mesh = """
        services:
          - name: cart
            ports: [{port: 8080, protocol: http}]
            subsets: [{name: v1, labels: {version: v1}}]
            outlier_detection:
              consecutive_5xx: 3
              consecutive_gateway_failure: 2
              interval: 5s
              base_ejection_time: 20s
              max_ejection_percent: 50
            health_check:
              http: /healthz
              interval: 3s
              timeout: 500ms
              unhealthy_threshold: 4
              healthy_threshold: 1
          - name: db
            ports: [{port: 5432, protocol: tcp}]
            health_check: {tcp: true}
          - name: rpc
            ports: [{port: 9000, protocol: grpc}]
            health_check: {grpc: shop.Rpc}
          - name: plain
            ports: [{port: 9090, protocol: http}]
        gateways:
          - name: edge
            port: 8000
            routes: [{service: cart}]
        """;

    [Fact]
    public void Load_HealthSections_AreRead()
    {
        var mesh = MeshConfigLoader.Load(Mesh);

        Assert.Equal(new MeshOutlierDetection(3, 2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(20), 50), mesh.FindService("cart")!.OutlierDetection);
        Assert.Equal(new MeshHealthCheck("/healthz", false, null, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(500), 4, 1), mesh.FindService("cart")!.HealthCheck);
        Assert.Equal(new MeshHealthCheck(null, true, null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(2), 3, 2), mesh.FindService("db")!.HealthCheck);
        Assert.Equal("shop.Rpc", mesh.FindService("rpc")!.HealthCheck!.GrpcService);
        Assert.Null(mesh.FindService("plain")!.HealthCheck);
        Assert.Null(mesh.FindService("plain")!.OutlierDetection);
    }

    [Theory]
    [InlineData("outlier_detection: {max_ejection_percent: 101}", "services[0].outlier_detection.max_ejection_percent")]
    [InlineData("outlier_detection: {consecutive_5xx: 0}", "services[0].outlier_detection.consecutive_5xx")]
    [InlineData("outlier_detection: {interval: soon}", "services[0].outlier_detection.interval")]
    [InlineData("outlier_detection: {success_rate: 1}", "services[0].outlier_detection.success_rate")]
    [InlineData("health_check: {interval: 5s}", "services[0].health_check")]
    [InlineData("health_check: {http: /a, tcp: true}", "services[0].health_check")]
    [InlineData("health_check: {http: healthz}", "services[0].health_check.http")]
    [InlineData("health_check: {tcp: true, unhealthy_threshold: 0}", "services[0].health_check.unhealthy_threshold")]
    [InlineData("health_check: {tcp: true, path: /x}", "services[0].health_check.path")]
    public void Load_BadHealthSection_NamesTheField(string setting, string field)
    {
        var yaml = $$"""
            services:
              - name: cart
                ports: [{port: 8080, protocol: http}]
                {{setting}}
            """;

        var error = Assert.Throws<MeshConfigException>(() => MeshConfigLoader.Load(yaml));

        Assert.Equal(field, error.Field);
    }

    [Theory]
    [InlineData(NodeKind.Gateway, "edge")]
    [InlineData(NodeKind.Sidecar, null)]
    public void Build_ServiceWithHealthSections_SetsThemOnEveryClusterAndTheyTranslate(NodeKind kind, string? gateway)
    {
        var clusters = Build(kind, gateway);

        foreach (var name in new[] { "outbound|8080||cart", "outbound|8080|v1|cart" })
        {
            var config = ClusterTranslator.Translate(clusters[name], name, _ => null);
            Assert.Equal(3u, config.OutlierDetection!.Consecutive5xx);
            Assert.Equal(2u, config.OutlierDetection.ConsecutiveGatewayFailure);
            Assert.Equal(100u, config.OutlierDetection.EnforcingConsecutiveGatewayFailure);
            Assert.Equal(TimeSpan.FromSeconds(5), config.OutlierDetection.Interval);
            Assert.Equal(TimeSpan.FromSeconds(20), config.OutlierDetection.BaseEjectionTime);
            Assert.Equal(50u, config.OutlierDetection.MaxEjectionPercent);
            Assert.Equal(HealthCheckKind.Http, config.HealthCheck!.Kind);
            Assert.Equal("/healthz", config.HealthCheck.HttpPath);
            Assert.Equal(TimeSpan.FromSeconds(3), config.HealthCheck.Interval);
            Assert.Equal(TimeSpan.FromSeconds(3), config.HealthCheck.NoTrafficInterval);
            Assert.Equal(TimeSpan.FromMilliseconds(500), config.HealthCheck.Timeout);
            Assert.Equal(4u, config.HealthCheck.UnhealthyThreshold);
            Assert.Equal(1u, config.HealthCheck.HealthyThreshold);
        }
    }

    [Fact]
    public void Build_Sidecar_TcpAndGrpcChecksAndNoneForPlain()
    {
        var clusters = Build(NodeKind.Sidecar, null);

        Assert.NotNull(clusters["outbound|5432||db"].HealthChecks[0].TcpHealthCheck);
        Assert.Equal("shop.Rpc", clusters["outbound|9000||rpc"].HealthChecks[0].GrpcHealthCheck.ServiceName);
        Assert.Empty(clusters["outbound|9090||plain"].HealthChecks);
        Assert.Null(clusters["outbound|9090||plain"].OutlierDetection);
    }

    [Fact]
    public void Build_ProxylessNode_LeavesHealthOut()
    {
        var clusters = Build(NodeKind.Proxyless, null);

        Assert.All(clusters.Values, c =>
        {
            Assert.Null(c.OutlierDetection);
            Assert.Empty(c.HealthChecks);
        });
    }

    private static Dictionary<string, Cluster> Build(NodeKind kind, string? gateway)
    {
        var mesh = MeshConfigLoader.Load(Mesh);
        using var registry = new ServiceRegistry(new ManualTimeProvider());
        var snapshot = SnapshotBuilder.Build(mesh, registry.View(), new NodeRole(kind, gateway, "client", null));
        return snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message).ToDictionary(c => c.Name);
    }
}
