using System.Collections.Immutable;
using System.Net;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class ClusterTests
{
    private readonly StatsStore _stats = new();
    private readonly ManualTimeProvider _time = new();
    private readonly StubDnsResolver _dns = new();

    [Fact]
    public async Task StartAsync_Static_TakesConfiguredHealthyEndpoints()
    {
        await using var cluster = NewCluster(DiscoveryType.Static, new("10.0.0.1", 80), new("10.0.0.2", 81, Healthy: false), new("10.0.0.3", 82, 4));

        await cluster.StartAsync(CancellationToken.None);

        Assert.Equal(["10.0.0.1:80", "10.0.0.3:82"], Addresses(cluster));
        Assert.Equal(4u, cluster.Endpoints[1].Weight);
        Assert.Equal(3, cluster.Stats.MembershipTotal.Value);
        Assert.Equal(2, cluster.Stats.MembershipHealthy.Value);
    }

    [Fact]
    public async Task Pick_RoundRobin_AlternatesOverEndpoints()
    {
        await using var cluster = NewCluster(DiscoveryType.Static, new("10.0.0.1", 80), new("10.0.0.2", 80));
        await cluster.StartAsync(CancellationToken.None);

        var first = cluster.Pick(default);
        var second = cluster.Pick(default);

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.NotSame(first, second);
    }

    [Fact]
    public async Task Pick_NoEndpoints_ReturnsNullAndCountsNoneHealthy()
    {
        await using var cluster = NewCluster(DiscoveryType.Static, new EndpointConfig("10.0.0.1", 80, Healthy: false));
        await cluster.StartAsync(CancellationToken.None);

        Assert.Null(cluster.Pick(default));
        Assert.Null(cluster.Pick(default));
        Assert.Equal(2, cluster.Stats.UpstreamCxNoneHealthy.Value);
    }

    [Fact]
    public async Task StartAsync_StrictDns_ResolvesEveryNameBeforeCompleting()
    {
        _dns.Set("a.local", "10.1.0.1", "10.1.0.2");
        _dns.Set("b.local", "10.2.0.1");
        await using var cluster = NewCluster(DiscoveryType.StrictDns, new("a.local", 8080, 2), new("b.local", 9090));

        await cluster.StartAsync(CancellationToken.None);

        Assert.Equal(["10.1.0.1:8080", "10.1.0.2:8080", "10.2.0.1:9090"], Addresses(cluster));
        Assert.Equal("a.local", cluster.Endpoints[0].HostName);
        Assert.Equal(2u, cluster.Endpoints[1].Weight);
        Assert.Equal("b.local", cluster.Endpoints[2].HostName);
    }

    [Fact]
    public async Task StrictDns_RefreshRateElapses_ReResolvesAndSwapsSet()
    {
        _dns.Set("a.local", "10.1.0.1", "10.1.0.2");
        await using var cluster = NewCluster(DiscoveryType.StrictDns, new EndpointConfig("a.local", 80));
        await cluster.StartAsync(CancellationToken.None);
        var kept = cluster.Endpoints[1];
        var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        cluster.EndpointsChanged += _ => changed.TrySetResult();

        _dns.Set("a.local", "10.1.0.2", "10.1.0.3");
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(1, _dns.Lookups("a.local"));

        _time.Advance(TimeSpan.FromSeconds(1));
        await changed.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(2, _dns.Lookups("a.local"));
        Assert.Equal(["10.1.0.2:80", "10.1.0.3:80"], Addresses(cluster));
        Assert.Same(kept, cluster.Endpoints[0]);

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(3, _dns.Lookups("a.local"));
    }

    [Fact]
    public async Task StrictDns_ResolutionFails_KeepsLastGoodSet()
    {
        _dns.Set("a.local", "10.1.0.1");
        await using var cluster = NewCluster(DiscoveryType.StrictDns, new EndpointConfig("a.local", 80));
        await cluster.StartAsync(CancellationToken.None);

        _dns.Fail("a.local");
        _time.Advance(TimeSpan.FromSeconds(5));
        await WaitUntil(() => cluster.LastResolveError is not null);

        Assert.Equal(["10.1.0.1:80"], Addresses(cluster));
        Assert.Contains("a.local", cluster.LastResolveError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_FirstResolutionFails_CompletesEmptyAndRecoversOnRefresh()
    {
        await using var cluster = NewCluster(DiscoveryType.StrictDns, new EndpointConfig("a.local", 80));

        await cluster.StartAsync(CancellationToken.None);
        Assert.Empty(cluster.Endpoints);
        Assert.Null(cluster.Pick(default));

        _dns.Set("a.local", "10.1.0.1");
        _time.Advance(TimeSpan.FromSeconds(5));
        await WaitUntil(() => cluster.Endpoints.Length == 1);
        Assert.NotNull(cluster.Pick(default));
    }

    [Fact]
    public async Task StartAsync_LogicalDns_TakesFirstAddressOnly()
    {
        _dns.Set("api.example", "10.3.0.7", "10.3.0.8", "10.3.0.9");
        await using var cluster = NewCluster(DiscoveryType.LogicalDns, new EndpointConfig("api.example", 443));

        await cluster.StartAsync(CancellationToken.None);

        Assert.Equal(["10.3.0.7:443"], Addresses(cluster));
        Assert.Equal("api.example", cluster.Endpoints[0].HostName);
    }

    [Theory]
    [InlineData((int)DnsLookupFamily.V4Only, new[] { "10.0.0.1:80" })]
    [InlineData((int)DnsLookupFamily.V6Only, new[] { "[fd00::1]:80" })]
    [InlineData((int)DnsLookupFamily.Auto, new[] { "[fd00::1]:80" })]
    [InlineData((int)DnsLookupFamily.V4Preferred, new[] { "10.0.0.1:80" })]
    [InlineData((int)DnsLookupFamily.All, new[] { "10.0.0.1:80", "[fd00::1]:80" })]
    public async Task StartAsync_DnsLookupFamily_FiltersAddresses(int family, string[] expected)
    {
        _dns.Set("a.local", "fd00::1", "10.0.0.1");
        var config = new ClusterConfig
        {
            Name = "c",
            Type = DiscoveryType.StrictDns,
            DnsLookupFamily = (DnsLookupFamily)family,
            Endpoints = [new EndpointConfig("a.local", 80)],
        };
        await using var cluster = new Cluster(config, _stats, _time, _dns);

        await cluster.StartAsync(CancellationToken.None);

        Assert.Equal(expected, Addresses(cluster));
    }

    [Fact]
    public async Task StartAsync_PreferredFamilyMissing_FallsBackToOther()
    {
        _dns.Set("a.local", "10.0.0.1");
        var config = new ClusterConfig { Name = "c", Type = DiscoveryType.StrictDns, Endpoints = [new EndpointConfig("a.local", 80)] };
        await using var cluster = new Cluster(config, _stats, _time, _dns);

        await cluster.StartAsync(CancellationToken.None);

        Assert.Equal(["10.0.0.1:80"], Addresses(cluster));
    }

    [Fact]
    public async Task UpdateEndpoints_AddressStays_KeepsEndpointObjectAndPool()
    {
        await using var cluster = NewCluster(DiscoveryType.Static, new("10.0.0.1", 80), new("10.0.0.2", 80));
        await cluster.StartAsync(CancellationToken.None);
        var stays = cluster.Endpoints[1];
        var pool = stays.Http1Pool;
        stays.BeginRequest();
        var raised = 0;
        cluster.EndpointsChanged += _ => raised++;

        cluster.UpdateEndpoints([new EndpointConfig("10.0.0.2", 80, 5), new EndpointConfig("10.0.0.3", 80)]);

        Assert.Equal(["10.0.0.2:80", "10.0.0.3:80"], Addresses(cluster));
        Assert.Same(stays, cluster.Endpoints[0]);
        Assert.Same(pool, cluster.Endpoints[0].Http1Pool);
        Assert.Equal(5u, stays.Weight);
        Assert.Equal(1, stays.ActiveRequests);
        Assert.Equal(1, raised);
    }

    [Fact]
    public async Task UpdateEndpoints_SameSet_DoesNotRaiseChanged()
    {
        await using var cluster = NewCluster(DiscoveryType.Static, new EndpointConfig("10.0.0.1", 80));
        await cluster.StartAsync(CancellationToken.None);
        var raised = 0;
        cluster.EndpointsChanged += _ => raised++;

        cluster.UpdateEndpoints([new EndpointConfig("10.0.0.1", 80)]);

        Assert.Equal(0, raised);
    }

    [Fact]
    public async Task UpdateEndpoints_NewSet_LoadBalancerUsesIt()
    {
        await using var cluster = NewCluster(DiscoveryType.Static, new EndpointConfig("10.0.0.1", 80));
        await cluster.StartAsync(CancellationToken.None);

        cluster.UpdateEndpoints([new EndpointConfig("10.0.0.9", 80)]);

        for (var i = 0; i < 10; i++)
        {
            Assert.Equal("10.0.0.9:80", cluster.Pick(default)!.AddressText);
        }
    }

    [Fact]
    public async Task UpdateEndpoints_HostName_Throws()
    {
        await using var cluster = NewCluster(DiscoveryType.Static);

        Assert.Throws<ArgumentException>(() => cluster.UpdateEndpoints([new EndpointConfig("a.local", 80)]));
    }

    [Fact]
    public async Task DisposeAsync_DnsCluster_StopsRefreshing()
    {
        _dns.Set("a.local", "10.1.0.1");
        var cluster = NewCluster(DiscoveryType.StrictDns, new EndpointConfig("a.local", 80));
        await cluster.StartAsync(CancellationToken.None);

        await cluster.DisposeAsync();
        _time.Advance(TimeSpan.FromSeconds(60));

        Assert.Equal(1, _dns.Lookups("a.local"));
        Assert.Equal(0, _time.ActiveTimers);
    }

    [Fact]
    public async Task Pick_OriginalDst_ReturnsTheOriginalDestinationAndReusesItsHost()
    {
        await using var cluster = NewOriginalDstCluster();
        await cluster.StartAsync(CancellationToken.None);
        var destination = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 8080);

        var first = cluster.Pick(new LoadBalancerContext(null, destination));
        var second = cluster.Pick(new LoadBalancerContext(null, new IPEndPoint(IPAddress.Parse("10.1.2.3"), 8080)));
        var other = cluster.Pick(new LoadBalancerContext(null, new IPEndPoint(IPAddress.Parse("10.1.2.4"), 8080)));

        Assert.NotNull(first);
        Assert.Equal(destination, first.Address);
        Assert.Same(first, second);
        Assert.Equal("10.1.2.4:8080", other!.AddressText);
        Assert.Equal(["10.1.2.3:8080", "10.1.2.4:8080"], Addresses(cluster));
        Assert.Equal(2, cluster.Stats.MembershipTotal.Value);
    }

    [Fact]
    public async Task Pick_OriginalDstWithoutOriginalDestination_ReturnsNullAndCountsNoneHealthy()
    {
        await using var cluster = NewOriginalDstCluster();
        await cluster.StartAsync(CancellationToken.None);

        Assert.Null(cluster.Pick(new LoadBalancerContext(null)));
        Assert.Equal(1, cluster.Stats.UpstreamCxNoneHealthy.Value);
    }

    [Fact]
    public async Task CleanupTimer_OriginalDstHostUnusedForAnInterval_IsDropped()
    {
        await using var cluster = NewOriginalDstCluster();
        await cluster.StartAsync(CancellationToken.None);
        var destination = new IPEndPoint(IPAddress.Parse("10.1.2.3"), 8080);
        var first = cluster.Pick(new LoadBalancerContext(null, destination));

        // The first sweep sees it used since the last one; the second finds it idle.
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Single(cluster.Endpoints);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(cluster.Endpoints);
        Assert.Equal(0, cluster.Stats.MembershipTotal.Value);

        var again = cluster.Pick(new LoadBalancerContext(null, destination));
        Assert.NotSame(first, again);
    }

    [Fact]
    public async Task CleanupTimer_OriginalDstHostWithRequestInFlight_IsKept()
    {
        await using var cluster = NewOriginalDstCluster();
        await cluster.StartAsync(CancellationToken.None);
        var endpoint = cluster.Pick(new LoadBalancerContext(null, new IPEndPoint(IPAddress.Parse("10.1.2.3"), 8080)))!;
        endpoint.BeginRequest();

        _time.Advance(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(5));
        _time.Advance(TimeSpan.FromSeconds(5));

        Assert.Same(endpoint, Assert.Single(cluster.Endpoints));
        endpoint.EndRequest();
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(cluster.Endpoints);
    }

    [Fact]
    public async Task Pick_OriginalDstBoundToIpv4WithIpv6Destination_RefusesRatherThanLoop()
    {
        await using var cluster = new Cluster(
            new ClusterConfig
            {
                Name = "InboundPassthroughCluster",
                Type = DiscoveryType.OriginalDst,
                LbPolicy = LoadBalancerPolicy.ClusterProvided,
                SourceAddress = new IPEndPoint(IPAddress.Parse("127.0.0.6"), 0),
            },
            _stats,
            _time,
            _dns);
        await cluster.StartAsync(CancellationToken.None);

        Assert.Null(cluster.Pick(new LoadBalancerContext(null, new IPEndPoint(IPAddress.Parse("fd00::3"), 8080))));
        Assert.NotNull(cluster.Pick(new LoadBalancerContext(null, new IPEndPoint(IPAddress.Parse("10.0.0.3"), 8080))));
    }

    private Cluster NewOriginalDstCluster() =>
        new(new ClusterConfig { Name = "PassthroughCluster", Type = DiscoveryType.OriginalDst, LbPolicy = LoadBalancerPolicy.ClusterProvided }, _stats, _time, _dns);

    private Cluster NewCluster(DiscoveryType type, params EndpointConfig[] endpoints) =>
        new(new ClusterConfig { Name = "c", Type = type, Endpoints = [.. endpoints], DnsLookupFamily = DnsLookupFamily.V4Only }, _stats, _time, _dns);

    private static string[] Addresses(Cluster cluster)
    {
        var endpoints = cluster.Endpoints;
        var result = new string[endpoints.Length];
        for (var i = 0; i < endpoints.Length; i++)
        {
            result[i] = endpoints[i].AddressText;
        }

        return result;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Yield();
        }
    }
}
