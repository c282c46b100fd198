using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Herald.Tests.TestSupport;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class SnapshotBuilderTests
{
    private readonly MeshConfig _mesh = MeshConfigLoader.Load(MeshConfigLoaderTests.Sample);
    private readonly ServiceRegistry _registry = new(new ManualTimeProvider());

    public SnapshotBuilderTests()
    {
        _registry.Register("greeter", "10.0.0.1", 50051, new Dictionary<string, string> { ["track"] = "stable", ["zone"] = "a" }, "1.2.0");
        _registry.Register("greeter", "10.0.0.2", 50051, new Dictionary<string, string> { ["track"] = "canary", ["zone"] = "b" }, "1.4.1");
        _registry.Register("web", "10.0.1.1", 8080);
    }

    private XdsSnapshot Build(NodeRole role) => SnapshotBuilder.Build(_mesh, _registry.View(), role);

    private static NodeRole Sidecar(string workload) => new(NodeKind.Sidecar, null, workload, null);

    [Fact]
    public void Build_Sidecar_OnlyItsDependencies()
    {
        var snapshot = Build(Sidecar("frontend"));

        var clusters = snapshot.Clusters.Resources.Keys.ToList();
        Assert.Contains("outbound|50051||greeter", clusters);
        Assert.Contains("outbound|50051|v2|greeter", clusters);
        Assert.Contains("outbound|443||payments", clusters);
        Assert.DoesNotContain(clusters, c => c.EndsWith("|db", StringComparison.Ordinal) || c.EndsWith("|legacy", StringComparison.Ordinal) || c.StartsWith("outbound|8080", StringComparison.Ordinal));
        Assert.Contains("inbound|8080||web", clusters);
        Assert.Equal(["0.0.0.0_443", "0.0.0.0_50051", "inbound"], snapshot.Listeners.Resources.Values.Where(r => !r.OnlyWhenNamed).Select(r => r.Name));
    }

    [Fact]
    public void Build_AnyNode_IsConsistent()
    {
        foreach (var role in new[] { Sidecar("frontend"), Sidecar("unknown"), new NodeRole(NodeKind.Gateway, "edge", null, null), new NodeRole(NodeKind.Proxyless, null, null, null) })
        {
            var snapshot = Build(role);
            foreach (var cluster in snapshot.Clusters.Resources.Values.Select(r => (Cluster)r.Message))
            {
                if (cluster.Type == Cluster.Types.DiscoveryType.Eds)
                {
                    Assert.True(snapshot.Endpoints.Resources.ContainsKey(cluster.EdsClusterConfig.ServiceName), $"{role}: EDS {cluster.Name}");
                    Assert.NotNull(cluster.EdsClusterConfig.EdsConfig.Ads);
                }

                Assert.Equal(Cluster.Types.LbPolicy.RoundRobin, cluster.LbPolicy);
            }

            foreach (var listener in snapshot.Listeners.Resources.Values.Select(r => (Listener)r.Message))
            {
                foreach (var hcm in Managers(listener))
                {
                    if (hcm.Rds is { } rds)
                    {
                        Assert.True(snapshot.Routes.Resources.ContainsKey(rds.RouteConfigName), $"{role}: RDS {rds.RouteConfigName}");
                    }

                    Assert.Equal(SnapshotBuilder.RouterFilterName, hcm.HttpFilters[^1].Name);
                }
            }

            foreach (var route in snapshot.Routes.Resources.Values.Select(r => (RouteConfiguration)r.Message))
            {
                foreach (var action in route.VirtualHosts.SelectMany(v => v.Routes).Select(r => r.Route_))
                {
                    var names = action.WeightedClusters is { } w ? w.Clusters.Select(c => c.Name) : [action.Cluster];
                    Assert.All(names, n => Assert.True(snapshot.Clusters.Resources.ContainsKey(n), $"{role}: route to {n}"));
                }
            }
        }
    }

    [Fact]
    public void Build_Endpoints_FilteredBySubsetLabelsWithLocality()
    {
        var snapshot = Build(Sidecar("frontend"));

        var all = (ClusterLoadAssignment)snapshot.Endpoints.Resources["outbound|50051||greeter"].Message;
        Assert.Equal(["a", "b"], all.Endpoints.Select(e => e.Locality.Zone));
        var canary = (ClusterLoadAssignment)snapshot.Endpoints.Resources["outbound|50051|v2|greeter"].Message;
        var endpoint = Assert.Single(Assert.Single(canary.Endpoints).LbEndpoints);
        Assert.Equal("10.0.0.2", endpoint.Endpoint.Address.SocketAddress.Address);
        Assert.Equal(50051u, endpoint.Endpoint.Address.SocketAddress.PortValue);
        Assert.Empty(((ClusterLoadAssignment)snapshot.Endpoints.Resources["outbound|50051|v3|greeter"].Message).Endpoints);
    }

    [Fact]
    public void Build_Routes_HeaderCookieQuerySplitAndSemver()
    {
        var snapshot = Build(Sidecar("frontend"));
        var config = (RouteConfiguration)snapshot.Routes.Resources["outbound|50051"].Message;
        var host = Assert.Single(config.VirtualHosts);
        Assert.Contains("greeter", host.Domains);
        Assert.Contains("greeter.demo.svc.cluster.local:50051", host.Domains);
        var routes = host.Routes;
        Assert.Equal(6, routes.Count);

        Assert.Equal("x-user", routes[0].Match.Headers[0].Name);
        Assert.Equal("alice", routes[0].Match.Headers[0].StringMatch.Exact);
        Assert.Equal("outbound|50051|v2|greeter", routes[0].Route_.Cluster);

        var cookie = routes[1].Match.Headers[0];
        Assert.Equal("cookie", cookie.Name);
        var regex = new System.Text.RegularExpressions.Regex(cookie.StringMatch.SafeRegex.Regex);
        Assert.Matches(regex, "a=1; canary=on; b=2");
        Assert.Matches(regex, "canary=on");
        Assert.DoesNotMatch(regex, "canary=off");
        Assert.DoesNotMatch(regex, "xcanary=on");
        Assert.Equal("outbound|50051|v3|greeter", routes[1].Route_.Cluster);

        // ^1.2 picks v2 (1.4.1) over v1 (1.2.0); v3 (2.0.0) is out of range.
        Assert.Equal("/latest", routes[2].Match.Prefix);
        Assert.Equal("outbound|50051|v2|greeter", routes[2].Route_.Cluster);
        Assert.Equal(TimeSpan.FromSeconds(2), routes[2].Route_.Timeout.ToTimeSpan());

        Assert.Equal("debug", routes[3].Match.QueryParameters[0].Name);
        Assert.Equal("1|true", routes[3].Match.QueryParameters[0].StringMatch.SafeRegex.Regex);

        var split = routes[4].Route_.WeightedClusters.Clusters;
        Assert.Equal(["outbound|50051|v1|greeter", "outbound|50051|v2|greeter"], split.Select(c => c.Name));
        Assert.Equal([90u, 10u], split.Select(c => c.Weight!.Value));

        Assert.Equal("outbound|50051||greeter", routes[5].Route_.Cluster);
        Assert.Equal(2u, routes[5].Route_.RetryPolicy.NumRetries);
        Assert.Equal(TimeSpan.FromSeconds(5), routes[5].Route_.Timeout.ToTimeSpan());
    }

    [Fact]
    public void Build_SemverRange_PrefersSubsetWithInstances()
    {
        const string yaml = """
            services:
              - name: api
                ports: [{port: 80}]
                subsets:
                  - {name: old, labels: {v: "1"}, version: 1.1.0}
                  - {name: new, labels: {v: "2"}, version: 1.9.0}
                routing:
                  rules:
                    - version: "~1"
            """;
        var mesh = MeshConfigLoader.Load(yaml);
        _registry.Register("api", "10.0.2.1", 80, new Dictionary<string, string> { ["v"] = "1" });
        var route = (RouteConfiguration)SnapshotBuilder.Build(mesh, _registry.View(), Sidecar("x")).Routes.Resources["outbound|80"].Message;
        Assert.Equal("outbound|80|old|api", route.VirtualHosts[0].Routes[0].Route_.Cluster);

        _registry.Register("api", "10.0.2.2", 80, new Dictionary<string, string> { ["v"] = "2" });
        route = (RouteConfiguration)SnapshotBuilder.Build(mesh, _registry.View(), Sidecar("x")).Routes.Resources["outbound|80"].Message;
        Assert.Equal("outbound|80|new|api", route.VirtualHosts[0].Routes[0].Route_.Cluster);
    }

    [Fact]
    public void Build_Inbound_DeliversToLoopbackPorts()
    {
        var snapshot = Build(Sidecar("frontend"));
        var inbound = (Listener)snapshot.Listeners.Resources["inbound"].Message;
        Assert.Equal(15006u, inbound.Address.SocketAddress.PortValue);
        Assert.Equal(8080u, inbound.FilterChains[0].FilterChainMatch.DestinationPort);
        var cluster = (Cluster)snapshot.Clusters.Resources["inbound|8080||web"].Message;
        Assert.Equal("127.0.0.1", cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.Address);
    }

    [Fact]
    public void Build_TlsExternal_PassesThroughBySni()
    {
        var snapshot = Build(Sidecar("frontend"));
        var listener = (Listener)snapshot.Listeners.Resources["0.0.0.0_443"].Message;
        var chain = Assert.Single(listener.FilterChains);
        Assert.Contains("api.payments.example", chain.FilterChainMatch.ServerNames);
        Assert.Equal("outbound|443||payments", chain.Filters[0].TypedConfig.Unpack<TcpProxy>().Cluster);
        Assert.Equal(Cluster.Types.DiscoveryType.StrictDns, ((Cluster)snapshot.Clusters.Resources["outbound|443||payments"].Message).Type);
    }

    [Fact]
    public void Build_Gateway_ListenerOnPortWithRdsAndMergedMatch()
    {
        var snapshot = Build(new NodeRole(NodeKind.Gateway, "edge", null, null));
        var listener = (Listener)Assert.Single(snapshot.Listeners.Resources.Values).Message;
        Assert.Equal(8000u, listener.Address.SocketAddress.PortValue);
        var hcm = Managers(listener).Single();
        Assert.Equal("gateway|edge", hcm.Rds.RouteConfigName);
        var routes = ((RouteConfiguration)snapshot.Routes.Resources["gateway|edge"].Message).VirtualHosts[0].Routes;
        Assert.Equal("/api", routes[0].Match.Prefix);
        Assert.Equal("outbound|8080||web", routes[0].Route_.Cluster);
        Assert.Equal("x-user", routes[1].Match.Headers[0].Name);
    }

    [Fact]
    public void Build_Proxyless_ApiListenersNamedLikeServices()
    {
        var snapshot = Build(new NodeRole(NodeKind.Proxyless, null, "frontend", null));
        Assert.Equal(["greeter", "greeter:50051"], snapshot.Listeners.Resources.Keys);
        var listener = (Listener)snapshot.Listeners.Resources["greeter"].Message;
        var hcm = listener.ApiListener.ApiListener_.Unpack<HttpConnectionManager>();
        Assert.Equal("outbound|50051", hcm.Rds.RouteConfigName);
        Assert.NotNull(hcm.Rds.ConfigSource.Ads);
        Assert.All(snapshot.Endpoints.Resources.Values, r => Assert.All(((ClusterLoadAssignment)r.Message).Endpoints, e => Assert.NotNull(e.Locality)));
    }

    [Fact]
    public void Build_SameState_SameVersionsAndChangeMovesOnlyAffectedTypes()
    {
        var a = Build(Sidecar("frontend"));
        var b = SnapshotBuilder.Build(MeshConfigLoader.Load(MeshConfigLoaderTests.Sample), new RegistryView(99, [.. _registry.View().Instances.Reverse()]), Sidecar("frontend"));
        Assert.Equal(a.Listeners.Version, b.Listeners.Version);
        Assert.Equal(a.Routes.Version, b.Routes.Version);
        Assert.Equal(a.Clusters.Version, b.Clusters.Version);
        Assert.Equal(a.Endpoints.Version, b.Endpoints.Version);

        _registry.Register("greeter", "10.0.0.3", 50051);
        var c = Build(Sidecar("frontend"));
        Assert.NotEqual(a.Endpoints.Version, c.Endpoints.Version);
        Assert.Equal(a.Clusters.Version, c.Clusters.Version);
        Assert.Equal(a.Listeners.Version, c.Listeners.Version);
    }

    [Fact]
    public void Role_FromNodeMetadata_GatewayWorkloadAndGrpc()
    {
        var node = new Node { Id = "n1", Cluster = "frontend" };
        Assert.Equal(new NodeRole(NodeKind.Sidecar, null, "frontend", null), NodeRole.Of(node));
        node.UserAgentName = "grpc-node-js";
        Assert.Equal(NodeKind.Proxyless, NodeRole.Of(node).Kind);
        node.Metadata = new Google.Protobuf.WellKnownTypes.Struct();
        node.Metadata.Fields[NodeRole.GatewayKey] = Google.Protobuf.WellKnownTypes.Value.ForString("edge");
        Assert.Equal(new NodeRole(NodeKind.Gateway, "edge", "frontend", null), NodeRole.Of(node));
    }

    private static IEnumerable<HttpConnectionManager> Managers(Listener listener)
    {
        if (listener.ApiListener is { } api)
        {
            yield return api.ApiListener_.Unpack<HttpConnectionManager>();
        }

        foreach (var filter in listener.FilterChains.SelectMany(c => c.Filters))
        {
            if (filter.Name == SnapshotBuilder.HttpConnectionManagerName)
            {
                yield return filter.TypedConfig.Unpack<HttpConnectionManager>();
            }
        }
    }
}
