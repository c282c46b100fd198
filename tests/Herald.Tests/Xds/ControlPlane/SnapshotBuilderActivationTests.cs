using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Envoy.Config.Cluster.V3;
using Herald.Proxy.Activation;
using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

/// <summary>The activation policy's way from the mesh file to the data plane's cluster, and demand back to the control plane.</summary>
public sealed class SnapshotBuilderActivationTests
{
    private const string Mesh = """
        services:
          - name: cold
            ports: [{port: 8080, protocol: http}]
            subsets: [{name: v1, labels: {version: v1}}]
            activation:
              hold_timeout: 45s
              queue_depth: 500
              endpoint_concurrency: 8
              webhook: http://127.0.0.1:9999/scale
          - name: warm
            ports: [{port: 9090, protocol: http}]
        gateways:
          - name: edge
            port: 8000
            routes: [{service: cold}]
        """;

    [Fact]
    public void Load_ActivationSection_IsRead()
    {
        var activation = MeshConfigLoader.Load(Mesh).FindService("cold")!.Activation!;

        Assert.Equal(new MeshActivation(TimeSpan.FromSeconds(45), 500, 8, new Uri("http://127.0.0.1:9999/scale")), activation);
        Assert.Null(MeshConfigLoader.Load(Mesh).FindService("warm")!.Activation);
    }

    [Theory]
    [InlineData("queue_depth: 0", "services[0].activation.queue_depth")]
    [InlineData("endpoint_concurrency: -2", "services[0].activation.endpoint_concurrency")]
    [InlineData("hold_timeout: 2h", "services[0].activation.hold_timeout")]
    [InlineData("webhook: ftp://x/", "services[0].activation.webhook")]
    [InlineData("burst: 3", "services[0].activation.burst")]
    public void Load_BadActivation_NamesTheField(string setting, string field)
    {
        var yaml = $$"""
            services:
              - name: cold
                ports: [{port: 8080, protocol: http}]
                activation:
                  {{setting}}
            """;

        var error = Assert.Throws<MeshConfigException>(() => MeshConfigLoader.Load(yaml));

        Assert.Equal(field, error.Field);
    }

    [Theory]
    [InlineData(NodeKind.Gateway, "edge")]
    [InlineData(NodeKind.Sidecar, null)]
    public void Build_ServiceWithActivation_CarriesThePolicyInEveryClusterOfIt(NodeKind kind, string? gateway)
    {
        var mesh = MeshConfigLoader.Load(Mesh) with { DemandUrl = new Uri("http://10.0.0.1:15012/v1/demand") };
        using var registry = new ServiceRegistry(new ManualTimeProvider());

        var snapshot = SnapshotBuilder.Build(mesh, registry.View(), new NodeRole(kind, gateway, "client", null));

        var clusters = snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message).ToDictionary(c => c.Name);
        foreach (var name in new[] { "outbound|8080||cold", "outbound|8080|v1|cold" })
        {
            var policy = ActivationPolicyTranslator.Translate(clusters[name].Metadata, "metadata")!;
            Assert.Equal(TimeSpan.FromSeconds(45), policy.HoldTimeout);
            Assert.Equal(500, policy.QueueDepth);
            Assert.Equal(8, policy.EndpointConcurrency);
            Assert.Equal(new Uri("http://127.0.0.1:9999/scale"), policy.Webhook);
            Assert.Equal(new Uri("http://10.0.0.1:15012/v1/demand"), policy.ControlPlane);
        }

        if (clusters.TryGetValue("outbound|9090||warm", out var warm))
        {
            Assert.Null(warm.Metadata);
        }
    }

    [Fact]
    public void Build_ActivationWithoutRouteTimeout_RouteWaitsAtLeastTheHold()
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());

        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(NodeKind.Gateway, "edge", null, null));

        var routes = snapshot.Routes.Resources.Values.Select(r => (Envoy.Config.Route.V3.RouteConfiguration)r.Message).Single();
        var action = routes.VirtualHosts.Single().Routes.Single().Route_;
        Assert.Equal(TimeSpan.FromSeconds(45), action.Timeout.ToTimeSpan());
    }

    [Fact]
    public void Build_ProxylessClient_GetsNoActivationMetadata()
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());

        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(NodeKind.Proxyless, null, "client", null));

        Assert.All(snapshot.Clusters.Resources.Values, r => Assert.Null(((Cluster)r.Message).Metadata));
    }

    [Fact]
    public void Build_NoDemandUrl_LeavesControlPlaneOut()
    {
        using var registry = new ServiceRegistry(new ManualTimeProvider());

        var snapshot = SnapshotBuilder.Build(MeshConfigLoader.Load(Mesh), registry.View(), new NodeRole(NodeKind.Gateway, "edge", null, null));

        var cluster = snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message).Single(c => c.Name == "outbound|8080||cold");
        Assert.Null(ActivationPolicyTranslator.Translate(cluster.Metadata, "metadata")!.ControlPlane);
    }

    [Fact]
    public async Task DemandApi_PostThenGet_ListsTheLatestNoticePerCluster()
    {
        using var registry = new ServiceRegistry(TimeProvider.System);
        using var ads = new AdsServer(() => MeshConfig.Empty, registry, TimeProvider.System);
        var demand = new DemandLog();
        await using var api = await RegistryApi.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), registry, ads, demand, CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{api.BoundAddress.Port}"), Timeout = TimeSpan.FromSeconds(10) };

        var first = await http.PostAsync("/v1/demand", Json("""{"cluster":"outbound|8080||cold","held":3,"oldest_wait_ms":12,"at":"2026-11-22T07:00:00Z"}"""));
        var second = await http.PostAsync("/v1/demand", Json("""{"cluster":"outbound|8080||cold","held":100,"oldest_wait_ms":250}"""));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var listed = await http.GetFromJsonAsync<JsonElement>("/v1/demand");
        var entry = Assert.Single(listed.EnumerateArray());
        Assert.Equal("outbound|8080||cold", entry.GetProperty("cluster").GetString());
        Assert.Equal(100, entry.GetProperty("held").GetInt32());
        Assert.Equal(250, entry.GetProperty("oldest_wait_ms").GetInt64());
        Assert.Equal(2, entry.GetProperty("notices").GetInt64());
        Assert.Equal("127.0.0.1", entry.GetProperty("reporter").GetString());
    }

    [Theory]
    [InlineData("""{"held":3}""", "cluster")]
    [InlineData("""{"cluster":"c","held":-1}""", "held")]
    [InlineData("""{"cluster":"c","colour":"red"}""", "colour")]
    [InlineData("""[1]""", "object")]
    [InlineData("""{"cluster":""", "JSON")]
    public async Task DemandApi_BadBody_400NamingWhy(string body, string expected)
    {
        using var registry = new ServiceRegistry(TimeProvider.System);
        using var ads = new AdsServer(() => MeshConfig.Empty, registry, TimeProvider.System);
        await using var api = await RegistryApi.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), registry, ads, new DemandLog(), CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{api.BoundAddress.Port}"), Timeout = TimeSpan.FromSeconds(10) };

        var response = await http.PostAsync("/v1/demand", Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");
}
