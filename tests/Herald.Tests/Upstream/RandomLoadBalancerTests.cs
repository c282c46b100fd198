using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class RandomLoadBalancerTests
{
    [Fact]
    public void Pick_EqualWeights_SpreadsWithinThreePercent()
    {
        var hosts = UpstreamTestData.Hosts(1, 1, 1, 1);
        var counts = UpstreamTestData.Count(new RandomLoadBalancer(hosts, new Random(1)), 10_000);

        Assert.All(hosts, host => Assert.InRange(counts[host], 2500 - 300, 2500 + 300));
    }

    [Fact]
    public void Pick_Weights3To1_SpreadsByWeightWithinThreePercent()
    {
        var hosts = UpstreamTestData.Hosts(3, 1);
        var counts = UpstreamTestData.Count(new RandomLoadBalancer(hosts, new Random(2)), 10_000);

        Assert.InRange(counts[hosts[0]], 7500 - 300, 7500 + 300);
        Assert.InRange(counts[hosts[1]], 2500 - 300, 2500 + 300);
    }

    [Fact]
    public void Pick_NoHosts_ReturnsNull()
    {
        Assert.Null(new RandomLoadBalancer([]).Pick(default));
    }
}
