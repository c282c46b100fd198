using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class MaglevLoadBalancerTests
{
    [Fact]
    public void Pick_ThreeHosts_BalancedWithinFivePercent()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1);
        var counts = UpstreamTestData.Count(new MaglevLoadBalancer(hosts, 65537), 10_000, i => UpstreamTestData.Key(i));

        Assert.All(hosts, host => Assert.InRange(counts[host], 3333 - 500, 3333 + 500));
        Assert.All(hosts, host => Assert.InRange(counts[host], 3333 - 200, 3333 + 200));
    }

    [Fact]
    public void Pick_SameHash_SameHost()
    {
        var balancer = new MaglevLoadBalancer(UpstreamTestData.Hosts(1, 1, 1), 65537);
        var again = new MaglevLoadBalancer(UpstreamTestData.Hosts(1, 1, 1), 65537);

        for (var i = 0; i < 1000; i++)
        {
            var context = new LoadBalancerContext(UpstreamTestData.Key(i));
            Assert.Same(balancer.Pick(context), balancer.Pick(context));
            Assert.Equal(balancer.Pick(context)!.AddressText, again.Pick(context)!.AddressText);
        }
    }

    [Fact]
    public void Pick_OneOfThreeRemoved_MovesAboutAThird()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1);
        var before = new MaglevLoadBalancer(hosts, 65537);
        var after = new MaglevLoadBalancer([hosts[0], hosts[1]], 65537);

        var moved = 0;
        var movedFromKept = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var context = new LoadBalancerContext(UpstreamTestData.Key(i));
            var old = before.Pick(context);
            var now = after.Pick(context);
            Assert.NotSame(hosts[2], now);
            if (old != now)
            {
                moved++;
                if (old != hosts[2])
                {
                    movedFromKept++;
                }
            }
        }

        // Maglev trades a little disruption for balance: a few keys of kept hosts move too.
        Assert.InRange(moved, 3000, 4000);
        Assert.True(movedFromKept < 500, $"{movedFromKept} keys moved between hosts that stayed");
    }

    [Fact]
    public void Pick_Weights3To1_SplitsByWeight()
    {
        var hosts = UpstreamTestData.Hosts(3, 1);
        var counts = UpstreamTestData.Count(new MaglevLoadBalancer(hosts, 65537), 10_000, i => UpstreamTestData.Key(i));

        Assert.InRange(counts[hosts[0]], 7500 - 300, 7500 + 300);
    }

    [Fact]
    public void Pick_SmallPrimeTable_EveryHostHasSlots()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1, 1, 1);
        var counts = UpstreamTestData.Count(new MaglevLoadBalancer(hosts, 7), 1000, i => UpstreamTestData.Key(i));

        Assert.Equal(5, counts.Count);
    }

    [Fact]
    public void Pick_NoHosts_ReturnsNull()
    {
        Assert.Null(new MaglevLoadBalancer([], 65537).Pick(new LoadBalancerContext(1)));
    }
}
