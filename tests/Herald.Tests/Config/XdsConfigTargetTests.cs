using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Herald.Proxy;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;
using Herald.Tests.TestSupport;
using Herald.Tests.Upstream;
using Herald.Xds;
using Herald.Xds.Client;
using Xunit;

namespace Herald.Tests.Config;

public sealed class XdsConfigTargetTests
{
    [Fact]
    public async Task ApplyAsync_ClustersBeforeListeners_ReadyOnlyOnceListenersArrived()
    {
        var stats = new StatsStore();
        var config = BootstrapTranslator.Translate(BootstrapLoader.Parse("node: { id: gw, cluster: gw }"), stats);
        await using var plane = await DataPlane.StartAsync(config, null, stats, new ManualTimeProvider(), new StubDnsResolver(), CancellationToken.None, readyWhenStarted: false);
        var target = new XdsConfigTarget(config, stats, () => plane);

        var clustersOnly = await target.ApplyAsync(Resources(XdsTypeUrls.Cluster), CancellationToken.None);
        Assert.True(clustersOnly.Accepted);
        Assert.False(plane.IsReady);

        var both = await target.ApplyAsync(Resources(XdsTypeUrls.Cluster, XdsTypeUrls.Listener), CancellationToken.None);
        Assert.True(both.Accepted);
        Assert.True(plane.IsReady);
    }

    [Fact]
    public async Task ApplyAsync_BootstrapWithClustersOnlyOverAds_ReadyWithoutListeners()
    {
        var stats = new StatsStore();
        var config = BootstrapTranslator.Translate(BootstrapLoader.Parse("""
            node: { id: n, cluster: c }
            dynamic_resources:
              cds_config: { ads: {}, resource_api_version: V3 }
              ads_config: { api_type: GRPC, transport_api_version: V3, grpc_services: [{ envoy_grpc: { cluster_name: xds } }] }
            static_resources:
              clusters:
              - name: xds
                type: STATIC
                load_assignment:
                  cluster_name: xds
                  endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 15010 } } } }] }]
            """), stats);
        await using var plane = await DataPlane.StartAsync(config, null, stats, new ManualTimeProvider(), new StubDnsResolver(), CancellationToken.None, readyWhenStarted: false);
        var target = new XdsConfigTarget(config, stats, () => plane);

        await target.ApplyAsync(Resources(XdsTypeUrls.Cluster), CancellationToken.None);

        Assert.True(plane.IsReady);
    }

    private static XdsResources Resources(params string[] typesReceived) => new(
        new Dictionary<string, Listener>(),
        new Dictionary<string, RouteConfiguration>(),
        new Dictionary<string, Cluster>(),
        new Dictionary<string, ClusterLoadAssignment>(),
        new Dictionary<string, Secret>(),
        typesReceived.ToDictionary(t => t, _ => "1"));
}
