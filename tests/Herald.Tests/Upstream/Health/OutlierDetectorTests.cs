using System.Collections.Immutable;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Herald.Proxy.Upstream.Health;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Upstream.Health;

public sealed class OutlierDetectorTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly StatsStore _stats = new();
    private readonly ManualTimeProvider _time = new();

    [Fact]
    public async Task ReportOutcome_Consecutive5xxReachThreshold_EjectsHostFromLoadBalancer()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        var bad = cluster.Endpoints[0];

        for (var i = 0; i < 4; i++)
        {
            bad.ReportOutcome(500);
        }

        Assert.Equal(2, cluster.Endpoints.Length);
        bad.ReportOutcome(503);

        Assert.Equal(["10.0.0.2:80"], Addresses(cluster));
        Assert.False(bad.IsAvailable);
        Assert.Equal(1, Stat("outlier_detection.ejections_enforced_total"));
        Assert.Equal(1, Stat("outlier_detection.ejections_enforced_consecutive_5xx"));
        Assert.Equal(1, Gauge("outlier_detection.ejections_active"));
        Assert.Equal(1, cluster.Stats.MembershipHealthy.Value);
        for (var i = 0; i < 10; i++)
        {
            Assert.NotSame(bad, cluster.Pick(default));
        }
    }

    [Fact]
    public async Task ReportOutcome_SuccessBetweenFailures_ResetsTheStreak()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        var host = cluster.Endpoints[0];

        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 4; i++)
            {
                host.ReportOutcome(500);
            }

            host.ReportOutcome(404);
        }

        Assert.True(host.IsAvailable);
        Assert.Equal(0, Stat("outlier_detection.ejections_detected_consecutive_5xx"));
    }

    [Fact]
    public async Task OnInterval_EjectionTimePassed_BringsHostBackAtATick()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        var host = cluster.Endpoints[0];
        Fail(host, 5);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(host.IsAvailable);

        // 30 s passed at 30 s, but un-ejection waits for the interval tick at 30 s... which is now.
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.True(host.IsAvailable);
        Assert.Equal(2, cluster.Endpoints.Length);
        Assert.Equal(0, Gauge("outlier_detection.ejections_active"));
    }

    [Fact]
    public async Task OnInterval_EjectionEndsBetweenTicks_WaitsForTheNextTick()
    {
        var config = new OutlierDetectionConfig { BaseEjectionTime = TimeSpan.FromSeconds(15) };
        await using var cluster = await StartAsync(config, hosts: 2);
        var host = cluster.Endpoints[0];
        _time.Advance(TimeSpan.FromSeconds(1));
        Fail(host, 5);

        _time.Advance(TimeSpan.FromSeconds(15)); // t=16: 15 s passed, the next tick is at 20
        Assert.False(host.IsAvailable);

        _time.Advance(TimeSpan.FromSeconds(4)); // t=20
        Assert.True(host.IsAvailable);
    }

    [Fact]
    public async Task Eject_SecondTime_LastsBaseTimesTwo()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        var host = cluster.Endpoints[0];
        Fail(host, 5);
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.True(host.IsAvailable);

        Fail(host, 5); // at t=30, multiplier 2: 60 s
        _time.Advance(TimeSpan.FromSeconds(50));
        Assert.False(host.IsAvailable);
        _time.Advance(TimeSpan.FromSeconds(10));

        Assert.True(host.IsAvailable);
        Assert.Equal(2, Stat("outlier_detection.ejections_enforced_total"));
    }

    [Fact]
    public async Task Eject_Repeatedly_CapsAtMaxEjectionTime()
    {
        var config = new OutlierDetectionConfig { MaxEjectionTime = TimeSpan.FromSeconds(60) };
        await using var cluster = await StartAsync(config, hosts: 2);
        var host = cluster.Endpoints[0];
        for (var round = 0; round < 4; round++)
        {
            Fail(host, 5);
            var ejectedFor = TimeSpan.Zero;
            while (!host.IsAvailable)
            {
                _time.Advance(Interval);
                ejectedFor += Interval;
            }

            Assert.Equal(TimeSpan.FromSeconds(Math.Min(30 * (round + 1), 60)), ejectedFor);
        }
    }

    [Fact]
    public async Task OnInterval_HealthyIntervals_ShrinkTheMultiplier()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        var host = cluster.Endpoints[0];
        Fail(host, 5);
        _time.Advance(TimeSpan.FromSeconds(30)); // back, multiplier 1
        _time.Advance(Interval); // healthy interval: multiplier 0

        Fail(host, 5); // multiplier 1 again: 30 s, not 60
        _time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(host.IsAvailable);
    }

    [Fact]
    public async Task Eject_BeyondMaxEjectionPercent_CountsOverflowAndKeepsHost()
    {
        var config = new OutlierDetectionConfig { MaxEjectionPercent = 25 };
        await using var cluster = await StartAsync(config, hosts: 4);
        var first = cluster.Endpoints[0];
        var second = cluster.Endpoints[1];

        Fail(first, 5);
        Fail(second, 5);

        Assert.False(first.IsAvailable);
        Assert.True(second.IsAvailable);
        Assert.Equal(3, cluster.Endpoints.Length);
        Assert.Equal(1, Stat("outlier_detection.ejections_overflow"));
        Assert.Equal(1, Gauge("outlier_detection.ejections_active"));
    }

    [Fact]
    public async Task Eject_MaxEjectionPercentZero_StillEjectsOneHost()
    {
        var config = new OutlierDetectionConfig { MaxEjectionPercent = 0 };
        await using var cluster = await StartAsync(config, hosts: 3);
        var hosts = cluster.Endpoints;

        Fail(hosts[0], 5);
        Fail(hosts[1], 5);

        Assert.Equal(2, cluster.Endpoints.Length);
        Assert.Equal(1, Stat("outlier_detection.ejections_overflow"));
    }

    [Fact]
    public async Task ReportFailure_ConnectFailuresAndResets_CountAsGatewayFailures()
    {
        var config = new OutlierDetectionConfig { Consecutive5xx = 100, EnforcingConsecutiveGatewayFailure = 100 };
        await using var cluster = await StartAsync(config, hosts: 2);
        var host = cluster.Endpoints[0];

        host.ReportFailure(UpstreamFailureKind.ConnectFailure);
        host.ReportFailure(UpstreamFailureKind.Reset);
        host.ReportFailure(UpstreamFailureKind.Timeout);
        host.ReportOutcome(502);
        Assert.True(host.IsAvailable);
        host.ReportOutcome(504);

        Assert.False(host.IsAvailable);
        Assert.Equal(1, Stat("outlier_detection.ejections_enforced_consecutive_gateway_failure"));
        Assert.Equal(0, Stat("outlier_detection.ejections_enforced_consecutive_5xx"));
    }

    [Fact]
    public async Task ReportOutcome_GatewayFailuresWithDefaultEnforcement_DetectedButNotEjected()
    {
        var config = new OutlierDetectionConfig { Consecutive5xx = 10 };
        await using var cluster = await StartAsync(config, hosts: 2);
        var host = cluster.Endpoints[0];

        Fail(host, 5, 502);

        Assert.True(host.IsAvailable);
        Assert.Equal(1, Stat("outlier_detection.ejections_detected_consecutive_gateway_failure"));
        Assert.Equal(0, Stat("outlier_detection.ejections_enforced_total"));
    }

    [Fact]
    public async Task ReportOutcome_NonGateway5xx_ResetsTheGatewayStreak()
    {
        var config = new OutlierDetectionConfig { Consecutive5xx = 100, ConsecutiveGatewayFailure = 3, EnforcingConsecutiveGatewayFailure = 100 };
        await using var cluster = await StartAsync(config, hosts: 2);
        var host = cluster.Endpoints[0];

        host.ReportOutcome(502);
        host.ReportOutcome(503);
        host.ReportOutcome(500);
        host.ReportOutcome(504);
        host.ReportOutcome(502);

        Assert.True(host.IsAvailable);
        host.ReportOutcome(503);
        Assert.False(host.IsAvailable);
    }

    [Fact]
    public async Task ReportOutcome_EnforcingZero_DetectsWithoutEjecting()
    {
        var config = new OutlierDetectionConfig { EnforcingConsecutive5xx = 0 };
        await using var cluster = await StartAsync(config, hosts: 2);

        Fail(cluster.Endpoints[0], 5);

        Assert.Equal(2, cluster.Endpoints.Length);
        Assert.Equal(1, Stat("outlier_detection.ejections_detected_consecutive_5xx"));
    }

    [Fact]
    public async Task OnInterval_SuccessRateOutlierWithEnoughVolume_IsEjected()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 5);
        var hosts = cluster.Endpoints;
        for (var i = 0; i < 100; i++)
        {
            for (var h = 0; h < hosts.Length; h++)
            {
                // Host 0 fails every other request (never 5 in a row); the others always succeed.
                hosts[h].ReportOutcome(h == 0 && i % 2 == 0 ? 500 : 200);
            }
        }

        _time.Advance(Interval);

        Assert.False(hosts[0].IsAvailable);
        Assert.Equal(4, cluster.Endpoints.Length);
        Assert.Equal(1, Stat("outlier_detection.ejections_enforced_success_rate"));
        Assert.Equal(0, Stat("outlier_detection.ejections_detected_consecutive_5xx"));
    }

    [Fact]
    public async Task OnInterval_SuccessRateBelowRequestVolume_EjectsNothing()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 5);
        foreach (var host in cluster.Endpoints)
        {
            for (var i = 0; i < 99; i++)
            {
                host.ReportOutcome(host == cluster.Endpoints[0] && i % 2 == 0 ? 500 : 200);
            }
        }

        _time.Advance(Interval);

        Assert.Equal(5, cluster.Endpoints.Length);
        Assert.Equal(0, Stat("outlier_detection.ejections_detected_success_rate"));
    }

    [Fact]
    public async Task OnInterval_SuccessRateTooFewHosts_EjectsNothing()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 4);
        foreach (var host in cluster.Endpoints)
        {
            for (var i = 0; i < 200; i++)
            {
                host.ReportOutcome(host == cluster.Endpoints[0] && i % 2 == 0 ? 500 : 200);
            }
        }

        _time.Advance(Interval);

        Assert.Equal(4, cluster.Endpoints.Length);
    }

    [Fact]
    public async Task ReportOutcome_NoOutlierDetection_IsANoOp()
    {
        await using var cluster = await StartAsync(null, hosts: 2);
        var host = cluster.Endpoints[0];

        Fail(host, 50);
        host.ReportFailure(UpstreamFailureKind.ConnectFailure);
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.True(host.IsAvailable);
        Assert.Equal(2, cluster.Endpoints.Length);
        Assert.DoesNotContain(_stats.Counters, c => c.Key.FlatName.Contains("outlier_detection", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UpdateEndpoints_EjectedHostRemoved_ClearsActiveGauge()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        Fail(cluster.Endpoints[0], 5);
        Assert.Equal(1, Gauge("outlier_detection.ejections_active"));

        cluster.UpdateEndpoints([new EndpointConfig("10.0.0.2", 80)]);

        Assert.Equal(0, Gauge("outlier_detection.ejections_active"));
        Assert.Equal(["10.0.0.2:80"], Addresses(cluster));
    }

    [Fact]
    public async Task UpdateEndpoints_EjectedHostStays_RemainsEjected()
    {
        await using var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        Fail(cluster.Endpoints[0], 5);

        cluster.UpdateEndpoints([new EndpointConfig("10.0.0.1", 80), new EndpointConfig("10.0.0.2", 80), new EndpointConfig("10.0.0.3", 80)]);

        Assert.Equal(["10.0.0.2:80", "10.0.0.3:80"], Addresses(cluster));
        _time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(3, cluster.Endpoints.Length);
    }

    [Fact]
    public async Task DisposeAsync_StopsTheIntervalTimer()
    {
        var cluster = await StartAsync(new OutlierDetectionConfig(), hosts: 2);
        Assert.Equal(1, _time.ActiveTimers);

        await cluster.DisposeAsync();

        Assert.Equal(0, _time.ActiveTimers);
    }

    private static void Fail(UpstreamEndpoint host, int times, int status = 500)
    {
        for (var i = 0; i < times; i++)
        {
            host.ReportOutcome(status);
        }
    }

    private async Task<Cluster> StartAsync(OutlierDetectionConfig? outlier, int hosts)
    {
        var endpoints = ImmutableArray.CreateBuilder<EndpointConfig>();
        for (var i = 1; i <= hosts; i++)
        {
            endpoints.Add(new EndpointConfig($"10.0.0.{i}", 80));
        }

        var config = new ClusterConfig { Name = "web", Endpoints = endpoints.ToImmutable(), OutlierDetection = outlier };
        var cluster = new Cluster(config, _stats, _time, new StubDnsResolver(), new Random(7));
        await cluster.StartAsync(CancellationToken.None);
        return cluster;
    }

    private long Stat(string name) => _stats.Counter(StatKey.Cluster("web", name)).Value;

    private long Gauge(string name) => _stats.Gauge(StatKey.Cluster("web", name)).Value;

    private static string[] Addresses(Cluster cluster) => [.. cluster.Endpoints.Select(e => e.AddressText)];
}
