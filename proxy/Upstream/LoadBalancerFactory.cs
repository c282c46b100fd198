using System.Collections.Immutable;

namespace Herald.Proxy.Upstream;

/// <summary>Builds the load balancer a cluster's policy asks for, over one endpoint set.</summary>
internal static class LoadBalancerFactory
{
    public static ILoadBalancer Create(ClusterConfig config, ImmutableArray<UpstreamEndpoint> hosts, Random? random = null) =>
        config.LbPolicy switch
        {
            LoadBalancerPolicy.RoundRobin => new RoundRobinLoadBalancer(hosts),
            LoadBalancerPolicy.LeastRequest => new LeastRequestLoadBalancer(hosts, config.LeastRequestChoiceCount, random),
            LoadBalancerPolicy.Random => new RandomLoadBalancer(hosts, random),
            LoadBalancerPolicy.RingHash => new RingHashLoadBalancer(hosts, config.RingHashMinimumSize, config.RingHashMaximumSize, random),
            LoadBalancerPolicy.Maglev => new MaglevLoadBalancer(hosts, config.MaglevTableSize, random),
            // ORIGINAL_DST clusters pick by destination themselves; this balancer never sees a host.
            LoadBalancerPolicy.ClusterProvided => new RoundRobinLoadBalancer(hosts),
            _ => throw new NotSupportedException($"load balancer policy {config.LbPolicy} is not supported"),
        };
}
