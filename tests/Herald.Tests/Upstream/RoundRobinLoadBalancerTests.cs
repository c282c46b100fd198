using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class RoundRobinLoadBalancerTests
{
    [Fact]
    public void Pick_EqualWeights_CyclesInOrderAndSplitsExactly()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1, 1);
        var balancer = new RoundRobinLoadBalancer(hosts);

        for (var i = 0; i < 8; i++)
        {
            Assert.Same(hosts[i % 4], balancer.Pick(default));
        }

        var counts = UpstreamTestData.Count(new RoundRobinLoadBalancer(hosts), 10_000);
        Assert.All(hosts, host => Assert.Equal(2500, counts[host]));
    }

    [Fact]
    public void Pick_Weights3To1_SplitsThreeToOneAndInterleaves()
    {
        var hosts = UpstreamTestData.Hosts(3, 1);
        var balancer = new RoundRobinLoadBalancer(hosts);

        var firstCycle = new[] { balancer.Pick(default), balancer.Pick(default), balancer.Pick(default), balancer.Pick(default) };
        Assert.Equal(3, firstCycle.Count(h => h == hosts[0]));
        Assert.Equal(1, firstCycle.Count(h => h == hosts[1]));

        // Smooth: the light host's turn falls inside the cycle, between heavy turns.
        Assert.NotSame(hosts[1], firstCycle[0]);
        Assert.NotSame(hosts[1], firstCycle[3]);

        var counts = UpstreamTestData.Count(new RoundRobinLoadBalancer(hosts), 10_000);
        Assert.Equal(7500, counts[hosts[0]]);
        Assert.Equal(2500, counts[hosts[1]]);
    }

    [Fact]
    public void Pick_HugeWeights_KeepsRatioWithinBoundedSchedule()
    {
        var hosts = UpstreamTestData.Hosts(3_000_000, 1_000_001);
        var counts = UpstreamTestData.Count(new RoundRobinLoadBalancer(hosts), 10_000);

        Assert.InRange(counts[hosts[0]], 7450, 7550);
    }

    [Fact]
    public void Pick_NoHosts_ReturnsNull()
    {
        Assert.Null(new RoundRobinLoadBalancer([]).Pick(default));
    }

    [Fact]
    public void Pick_Concurrent_SplitsExactly()
    {
        var hosts = UpstreamTestData.Hosts(1, 1);
        var balancer = new RoundRobinLoadBalancer(hosts);
        var first = 0;
        Parallel.For(0, 10_000, _ =>
        {
            if (balancer.Pick(default) == hosts[0])
            {
                Interlocked.Increment(ref first);
            }
        });

        Assert.Equal(5000, first);
    }
}
