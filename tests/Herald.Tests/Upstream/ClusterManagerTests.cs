using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Herald.Tests.TestSupport;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class ClusterManagerTests
{
    private readonly StatsStore _stats = new();
    private readonly ManualTimeProvider _time = new();
    private readonly StubDnsResolver _dns = new();

    [Fact]
    public async Task ApplyAsync_NewClusters_AreStartedAndFound()
    {
        await using var manager = new ClusterManager(_stats, _time, _dns);

        await manager.ApplyAsync([Config("a", "10.0.0.1"), Config("b", "10.0.0.2")], CancellationToken.None);

        Assert.Equal(2, manager.Clusters.Count);
        Assert.Equal("10.0.0.1:80", manager.Get("a")!.Pick(default)!.AddressText);
        Assert.Equal("10.0.0.2:80", manager.Get("b")!.Pick(default)!.AddressText);
        Assert.Null(manager.Get("c"));
    }

    [Fact]
    public async Task ApplyAsync_UnchangedCluster_KeepsObject()
    {
        await using var manager = new ClusterManager(_stats, _time, _dns);
        await manager.ApplyAsync([Config("a", "10.0.0.1"), Config("b", "10.0.0.2")], CancellationToken.None);
        var a = manager.Get("a");
        var endpoint = a!.Endpoints[0];

        // A freshly translated but equal resource counts as unchanged.
        await manager.ApplyAsync([Config("a", "10.0.0.1"), Config("b", "10.0.0.3")], CancellationToken.None);

        Assert.Same(a, manager.Get("a"));
        Assert.Same(endpoint, manager.Get("a")!.Endpoints[0]);
    }

    [Fact]
    public async Task ApplyAsync_ChangedCluster_ReplacesIt()
    {
        await using var manager = new ClusterManager(_stats, _time, _dns);
        await manager.ApplyAsync([Config("a", "10.0.0.1"), Config("b", "10.0.0.2")], CancellationToken.None);
        var b = manager.Get("b");

        await manager.ApplyAsync([Config("a", "10.0.0.1"), Config("b", "10.0.0.3")], CancellationToken.None);

        Assert.NotSame(b, manager.Get("b"));
        Assert.Equal("10.0.0.3:80", manager.Get("b")!.Pick(default)!.AddressText);
    }

    [Fact]
    public async Task ApplyAsync_AbsentCluster_IsRemovedAndStopped()
    {
        _dns.Set("b.local", "10.0.0.2");
        var dnsCluster = new EnvoyCluster { Name = "b", Type = EnvoyCluster.Types.DiscoveryType.StrictDns, LoadAssignment = Config("x", "b.local").Source.LoadAssignment };
        await using var manager = new ClusterManager(_stats, _time, _dns);
        await manager.ApplyAsync([Config("a", "10.0.0.1"), ClusterTranslator.Translate(dnsCluster, "clusters[1]")], CancellationToken.None);
        Assert.Equal(1, _dns.Lookups("b.local"));

        await manager.ApplyAsync([Config("a", "10.0.0.1")], CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.Null(manager.Get("b"));
        Assert.Single(manager.Clusters);
        Assert.Equal(1, _dns.Lookups("b.local"));
    }

    [Fact]
    public async Task ApplyAsync_NewDnsCluster_IsResolvedBeforeItIsVisible()
    {
        _dns.Set("b.local", "10.0.0.2");
        var dnsCluster = new EnvoyCluster { Name = "b", Type = EnvoyCluster.Types.DiscoveryType.StrictDns, LoadAssignment = Config("x", "b.local").Source.LoadAssignment };
        await using var manager = new ClusterManager(_stats, _time, _dns);

        await manager.ApplyAsync([ClusterTranslator.Translate(dnsCluster, "clusters[0]")], CancellationToken.None);

        Assert.Equal("10.0.0.2:80", manager.Get("b")!.Pick(default)!.AddressText);
    }

    [Fact]
    public async Task ApplyAsync_HandBuiltConfigWithoutSource_IsReplaced()
    {
        await using var manager = new ClusterManager(_stats, _time, _dns);
        await manager.ApplyAsync([new ClusterConfig { Name = "a", Endpoints = [new EndpointConfig("10.0.0.1", 80)] }], CancellationToken.None);

        await manager.ApplyAsync([new ClusterConfig { Name = "a", Endpoints = [new EndpointConfig("10.0.0.2", 80)] }], CancellationToken.None);

        Assert.Equal("10.0.0.2:80", manager.Get("a")!.Pick(default)!.AddressText);
    }

    [Fact]
    public async Task ApplyAsync_DuplicateNames_ThrowsAndKeepsSnapshot()
    {
        await using var manager = new ClusterManager(_stats, _time, _dns);
        await manager.ApplyAsync([Config("a", "10.0.0.1")], CancellationToken.None);
        var a = manager.Get("a");

        await Assert.ThrowsAsync<ConfigException>(() => manager.ApplyAsync([Config("b", "10.0.0.2"), Config("b", "10.0.0.3")], CancellationToken.None));

        Assert.Same(a, manager.Get("a"));
        Assert.Null(manager.Get("b"));
    }

    private static ClusterConfig Config(string name, string host)
    {
        var cluster = new EnvoyCluster
        {
            Name = name,
            LoadAssignment = new Envoy.Config.Endpoint.V3.ClusterLoadAssignment
            {
                ClusterName = name,
                Endpoints =
                {
                    new Envoy.Config.Endpoint.V3.LocalityLbEndpoints
                    {
                        LbEndpoints =
                        {
                            new Envoy.Config.Endpoint.V3.LbEndpoint
                            {
                                Endpoint = new Envoy.Config.Endpoint.V3.Endpoint
                                {
                                    Address = new Envoy.Config.Core.V3.Address
                                    {
                                        SocketAddress = new Envoy.Config.Core.V3.SocketAddress { Address = host, PortValue = 80 },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        };

        // Host names are only valid for DNS clusters; callers re-type those.
        return System.Net.IPAddress.TryParse(host, out _)
            ? ClusterTranslator.Translate(cluster, "clusters[0]")
            : new ClusterConfig { Name = name, Source = cluster };
    }
}
