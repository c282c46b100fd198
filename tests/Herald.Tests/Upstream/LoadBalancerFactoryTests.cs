using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class LoadBalancerFactoryTests
{
    [Theory]
    [InlineData((int)LoadBalancerPolicy.RoundRobin, typeof(RoundRobinLoadBalancer))]
    [InlineData((int)LoadBalancerPolicy.LeastRequest, typeof(LeastRequestLoadBalancer))]
    [InlineData((int)LoadBalancerPolicy.Random, typeof(RandomLoadBalancer))]
    [InlineData((int)LoadBalancerPolicy.RingHash, typeof(RingHashLoadBalancer))]
    [InlineData((int)LoadBalancerPolicy.Maglev, typeof(MaglevLoadBalancer))]
    public void Create_Policy_BuildsItsBalancerAndPickDoesNotAllocate(int policy, Type expected)
    {
        var config = new ClusterConfig { Name = "c", LbPolicy = (LoadBalancerPolicy)policy };
        var balancer = LoadBalancerFactory.Create(config, UpstreamTestData.Hosts(3, 1, 2, 1));
        Assert.IsType(expected, balancer);

        var hashed = new LoadBalancerContext(12345);
        var plain = new LoadBalancerContext(null);
        balancer.Pick(in hashed);
        balancer.Pick(in plain);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            Assert.NotNull(balancer.Pick(in hashed));
            Assert.NotNull(balancer.Pick(in plain));
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
