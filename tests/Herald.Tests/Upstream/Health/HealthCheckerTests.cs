using System.Collections.Immutable;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Herald.Proxy.Upstream.Health;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Upstream.Health;

public sealed class HealthCheckerTests
{
    private const string A = "10.0.0.1:80";
    private const string B = "10.0.0.2:80";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private readonly StatsStore _stats = new();
    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedHealthProbe _probe = new();

    [Fact]
    public async Task StartAsync_NewHosts_OutOfBalancingUntilTheFirstCheckPasses()
    {
        _probe.Set(B, HealthCheckOutcome.NetworkFailure);
        var cluster = NewCluster(Config());
        await using (cluster)
        {
            var start = cluster.StartAsync(CancellationToken.None);
            Assert.Empty(cluster.Endpoints);
            Assert.False(start.IsCompleted);

            _time.Advance(TimeSpan.Zero);
            await start;

            Assert.Equal([A], Addresses(cluster));
            Assert.Equal(1, Gauge("health_check.healthy"));
            Assert.Equal(2, Counter("health_check.attempt"));
            Assert.Equal(1, Counter("health_check.success"));
            Assert.Equal(1, Counter("health_check.failure"));
            Assert.Equal(1, Counter("health_check.network_failure"));
        }
    }

    [Fact]
    public async Task Check_NetworkFailuresBelowThreshold_KeepHostHealthy()
    {
        await using var cluster = await StartAsync(Config(unhealthy: 3));
        _probe.Set(A, HealthCheckOutcome.NetworkFailure);

        _time.Advance(Interval * 2);
        Assert.Equal(2, cluster.Endpoints.Length);

        _time.Advance(Interval);
        Assert.Equal([B], Addresses(cluster));
        Assert.Equal(1, Gauge("health_check.healthy"));
    }

    [Fact]
    public async Task Check_UnhealthyAnswer_MarksHostUnhealthyAtOnce()
    {
        await using var cluster = await StartAsync(Config(unhealthy: 3));
        _probe.Set(A, HealthCheckOutcome.Unhealthy);

        _time.Advance(Interval);

        Assert.Equal([B], Addresses(cluster));
    }

    [Fact]
    public async Task Check_Recovery_NeedsHealthyThresholdPasses()
    {
        await using var cluster = await StartAsync(Config(healthy: 3));
        _probe.Set(A, HealthCheckOutcome.Unhealthy);
        _time.Advance(Interval);
        Assert.Single(cluster.Endpoints);

        _probe.Set(A, HealthCheckOutcome.Healthy);
        _time.Advance(Interval * 2);
        Assert.Single(cluster.Endpoints);

        _time.Advance(Interval);
        Assert.Equal([A, B], Addresses(cluster));
    }

    [Fact]
    public async Task Check_PassBetweenFailures_ResetsTheFailureCount()
    {
        await using var cluster = await StartAsync(Config(unhealthy: 2));
        for (var i = 0; i < 4; i++)
        {
            _probe.Set(A, HealthCheckOutcome.NetworkFailure);
            _time.Advance(Interval);
            _probe.Set(A, HealthCheckOutcome.Healthy);
            _time.Advance(Interval);
        }

        Assert.Equal(2, cluster.Endpoints.Length);
    }

    [Fact]
    public async Task Check_NoAnswerWithinTimeout_CountsANetworkFailure()
    {
        await using var cluster = await StartAsync(Config(unhealthy: 1));
        _probe.Set(A, null);

        _time.Advance(Interval); // the check starts
        Assert.Equal(2, cluster.Endpoints.Length);
        _time.Advance(TimeSpan.FromSeconds(1)); // its 1 s timeout

        Assert.Equal([B], Addresses(cluster));
        Assert.Equal(1, Counter("health_check.network_failure"));
    }

    [Fact]
    public async Task Check_NextCheck_ScheduledAfterTheLastCompletes()
    {
        await using var cluster = await StartAsync(Config());
        var before = _probe.Checks;

        _time.Advance(Interval - TimeSpan.FromMilliseconds(1));
        Assert.Equal(before, _probe.Checks);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Equal(before + 2, _probe.Checks);
    }

    [Fact]
    public async Task NextInterval_NoTrafficYet_UsesNoTrafficInterval()
    {
        var config = Config() with { NoTrafficInterval = TimeSpan.FromSeconds(60) };
        await using var cluster = await StartAsync(config, hadTraffic: false);
        var before = _probe.Checks;

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(before, _probe.Checks);
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(before + 2, _probe.Checks);
    }

    [Fact]
    public void NextInterval_Jitter_StaysWithinBounds()
    {
        var config = Config() with
        {
            Interval = TimeSpan.FromSeconds(10),
            IntervalJitter = TimeSpan.FromSeconds(1),
            IntervalJitterPercent = 20,
            UnhealthyInterval = TimeSpan.FromSeconds(3),
            UnhealthyEdgeInterval = TimeSpan.FromSeconds(2),
            HealthyEdgeInterval = TimeSpan.FromSeconds(4),
        };
        var checker = new HealthChecker(config, _probe, new HealthCheckStats(_stats, "web"), () => true, _time, new Random(3));
        var seen = new List<TimeSpan>();

        for (var i = 0; i < 2000; i++)
        {
            var next = checker.NextInterval(healthy: true, justChanged: false);
            Assert.InRange(next, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(13));
            seen.Add(next);
        }

        Assert.True(seen.Max() > TimeSpan.FromSeconds(12.5), "jitter should reach near its top");
        Assert.True(seen.Min() < TimeSpan.FromSeconds(10.5), "jitter should reach near its bottom");
        Assert.InRange(checker.NextInterval(healthy: false, justChanged: false), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4.6));
        Assert.InRange(checker.NextInterval(healthy: false, justChanged: true), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3.4));
        Assert.InRange(checker.NextInterval(healthy: true, justChanged: true), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(5.8));
    }

    [Fact]
    public async Task Add_InitialJitter_DelaysTheFirstCheckWithinBounds()
    {
        var config = Config() with { InitialJitter = TimeSpan.FromSeconds(2) };
        var cluster = NewCluster(config);
        await using (cluster)
        {
            var start = cluster.StartAsync(CancellationToken.None);
            _time.Advance(TimeSpan.Zero);
            Assert.Equal(0, _probe.Checks);

            _time.Advance(TimeSpan.FromSeconds(2));
            await start;

            Assert.Equal(2, _probe.Checks);
        }
    }

    [Fact]
    public async Task Check_Pass_UnejectsAnOutlierEjectedHost()
    {
        var cluster = NewCluster(Config(), new OutlierDetectionConfig());
        await using (cluster)
        {
            var start = cluster.StartAsync(CancellationToken.None);
            _time.Advance(TimeSpan.Zero);
            await start;
            var host = cluster.Endpoints[0];
            for (var i = 0; i < 5; i++)
            {
                host.ReportOutcome(500);
            }

            Assert.Single(cluster.Endpoints);

            _time.Advance(Interval);

            Assert.True(host.IsAvailable);
            Assert.Equal(2, cluster.Endpoints.Length);
        }
    }

    [Fact]
    public async Task UpdateEndpoints_RemovedHost_StopsItsChecks()
    {
        await using var cluster = await StartAsync(Config());
        cluster.UpdateEndpoints([new EndpointConfig("10.0.0.2", 80)]);
        var before = _probe.Checks;

        _time.Advance(Interval);

        Assert.Equal(before + 1, _probe.Checks);
        Assert.Equal(1, Gauge("health_check.healthy"));
    }

    [Fact]
    public async Task DisposeAsync_StopsAllTimersAndTheProbe()
    {
        var cluster = await StartAsync(Config());
        Assert.Equal(2, _time.ActiveTimers);

        await cluster.DisposeAsync();

        Assert.Equal(0, _time.ActiveTimers);
        Assert.True(_probe.Disposed);
    }

    private static HealthCheckConfig Config(uint unhealthy = 2, uint healthy = 2) => new()
    {
        Kind = HealthCheckKind.Http,
        Timeout = TimeSpan.FromSeconds(1),
        Interval = Interval,
        UnhealthyThreshold = unhealthy,
        HealthyThreshold = healthy,
        NoTrafficInterval = Interval,
    };

    private Cluster NewCluster(HealthCheckConfig healthCheck, OutlierDetectionConfig? outlier = null)
    {
        var config = new ClusterConfig
        {
            Name = "web",
            Endpoints = ImmutableArray.Create(new EndpointConfig("10.0.0.1", 80), new EndpointConfig("10.0.0.2", 80)),
            HealthCheck = healthCheck,
            OutlierDetection = outlier,
        };
        return new Cluster(config, _stats, _time, new StubDnsResolver(), new Random(5), _probe);
    }

    private async Task<Cluster> StartAsync(HealthCheckConfig healthCheck, bool hadTraffic = true)
    {
        var cluster = NewCluster(healthCheck);
        if (hadTraffic)
        {
            cluster.Stats.UpstreamRqTotal.Increment();
        }

        var start = cluster.StartAsync(CancellationToken.None);
        _time.Advance(TimeSpan.Zero);
        await start;
        Assert.Equal(2, cluster.Endpoints.Length);
        return cluster;
    }

    private long Counter(string name) => _stats.Counter(StatKey.Cluster("web", name)).Value;

    private long Gauge(string name) => _stats.Gauge(StatKey.Cluster("web", name)).Value;

    private static string[] Addresses(Cluster cluster) => [.. cluster.Endpoints.Select(e => e.AddressText)];
}
