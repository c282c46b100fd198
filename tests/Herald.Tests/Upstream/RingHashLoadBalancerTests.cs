using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class RingHashLoadBalancerTests
{
    [Fact]
    public void Pick_SameHash_SameHost()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1);
        var balancer = new RingHashLoadBalancer(hosts, 1024, 8 * 1024 * 1024);

        for (var i = 0; i < 1000; i++)
        {
            var key = UpstreamTestData.Key(i);
            Assert.Same(balancer.Pick(new LoadBalancerContext(key)), balancer.Pick(new LoadBalancerContext(key)));
        }

        // A ring built again from equal hosts maps keys the same way (other processes agree).
        var again = new RingHashLoadBalancer(UpstreamTestData.Hosts(1, 1, 1), 1024, 8 * 1024 * 1024);
        for (var i = 0; i < 1000; i++)
        {
            var key = UpstreamTestData.Key(i);
            Assert.Equal(balancer.Pick(new LoadBalancerContext(key))!.AddressText, again.Pick(new LoadBalancerContext(key))!.AddressText);
        }
    }

    [Fact]
    public void Pick_OneOfThreeRemoved_MovesOnlyItsKeys()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1);
        var before = new RingHashLoadBalancer(hosts, 1024, 8 * 1024 * 1024);
        var after = new RingHashLoadBalancer([hosts[0], hosts[1]], 1024, 8 * 1024 * 1024);

        var moved = 0;
        var owned = 0;
        for (var i = 0; i < 10_000; i++)
        {
            var context = new LoadBalancerContext(UpstreamTestData.Key(i));
            var old = before.Pick(context);
            var now = after.Pick(context);
            if (old == hosts[2])
            {
                owned++;
            }
            else
            {
                Assert.Same(old, now);
            }

            if (old != now)
            {
                moved++;
            }
        }

        Assert.Equal(owned, moved);
        Assert.InRange(moved, 2500, 4200);
    }

    [Fact]
    public void Pick_FiveOfSixRemain_MovesOnlyRemovedHostsKeys()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1, 1, 1, 1);
        var before = new RingHashLoadBalancer(hosts, 1024, 8 * 1024 * 1024);
        var after = new RingHashLoadBalancer(hosts.RemoveAt(5), 1024, 8 * 1024 * 1024);

        for (var i = 0; i < 10_000; i++)
        {
            var context = new LoadBalancerContext(UpstreamTestData.Key(i));
            var old = before.Pick(context);
            if (old != hosts[5])
            {
                Assert.Same(old, after.Pick(context));
            }
        }
    }

    [Fact]
    public void Pick_Weights3To1_SplitsRoughlyByWeight()
    {
        var hosts = UpstreamTestData.Hosts(3, 1);
        var balancer = new RingHashLoadBalancer(hosts, 1024, 8 * 1024 * 1024);
        var counts = UpstreamTestData.Count(balancer, 10_000, i => UpstreamTestData.Key(i));

        Assert.InRange(counts[hosts[0]], 7000, 8000);
    }

    [Fact]
    public void Build_SizeBounds_RingWithinBounds()
    {
        Assert.InRange(new RingHashLoadBalancer(UpstreamTestData.Hosts(1, 1, 1), 1024, 8192).RingSize, 1024, 2048);
        Assert.Equal(1280, new RingHashLoadBalancer(UpstreamTestData.Hosts(1, 1, 1, 1, 1), 1024, 2048).RingSize);
        Assert.Equal(1200, new RingHashLoadBalancer(UpstreamTestData.Hosts(1, 1, 1, 1, 1), 1024, 1200).RingSize);

        // The light host needs a point, but the ring may not exceed the maximum.
        Assert.InRange(new RingHashLoadBalancer(UpstreamTestData.Hosts(100_000, 1), 16, 4096).RingSize, 4096, 4097);
    }

    [Fact]
    public void Pick_NoHash_PicksAnyHost()
    {
        var hosts = UpstreamTestData.Hosts(1, 1);
        var counts = UpstreamTestData.Count(new RingHashLoadBalancer(hosts, 64, 128, new Random(7)), 1000);

        Assert.Equal(2, counts.Count);
    }

    [Fact]
    public void Pick_NoHosts_ReturnsNull()
    {
        Assert.Null(new RingHashLoadBalancer([], 1024, 2048).Pick(new LoadBalancerContext(42)));
    }
}
