using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class LeastRequestLoadBalancerTests
{
    [Fact]
    public void Pick_OneHostBusy_PrefersIdleHost()
    {
        var hosts = UpstreamTestData.Hosts(1, 1);
        for (var i = 0; i < 5; i++)
        {
            hosts[0].BeginRequest();
        }

        var counts = UpstreamTestData.Count(new LeastRequestLoadBalancer(hosts, 2, new Random(3)), 10_000);

        Assert.Equal(10_000, counts[hosts[1]]);
    }

    [Fact]
    public void Pick_TwoOfFourBusy_IdleHostsGetMostPicks()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1, 1);
        hosts[0].BeginRequest();
        hosts[1].BeginRequest();

        var counts = UpstreamTestData.Count(new LeastRequestLoadBalancer(hosts, 2, new Random(4)), 10_000);

        // Two draws with replacement: both land on busy hosts a quarter of the time.
        var busy = counts.GetValueOrDefault(hosts[0]) + counts.GetValueOrDefault(hosts[1]);
        Assert.InRange(busy, 2500 - 300, 2500 + 300);
        Assert.InRange(counts[hosts[2]], 3750 - 300, 3750 + 300);
    }

    [Fact]
    public void Pick_AllIdle_SpreadsEvenly()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1);
        var counts = UpstreamTestData.Count(new LeastRequestLoadBalancer(hosts, 2, new Random(5)), 9_000);

        Assert.All(hosts, host => Assert.InRange(counts[host], 3000 - 300, 3000 + 300));
    }

    [Fact]
    public void Pick_RequestEnds_HostBecomesEligibleAgain()
    {
        var hosts = UpstreamTestData.Hosts(1, 1);
        var balancer = new LeastRequestLoadBalancer(hosts, 2, new Random(6));
        hosts[0].BeginRequest();
        Assert.Same(hosts[1], balancer.Pick(default));

        hosts[0].EndRequest();
        hosts[1].BeginRequest();
        Assert.Same(hosts[0], balancer.Pick(default));
        Assert.Equal(0, hosts[0].ActiveRequests);
        Assert.Equal(1, hosts[1].ActiveRequests);
    }
}
