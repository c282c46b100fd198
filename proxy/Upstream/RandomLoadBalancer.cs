using System.Collections.Immutable;

namespace Herald.Proxy.Upstream;

/// <summary>Weighted random choice.</summary>
internal sealed class RandomLoadBalancer : ILoadBalancer
{
    private readonly WeightedSelector _selector;
    private readonly Random _random;

    /// <param name="random">Must be thread-safe when picks run concurrently (the default, <see cref="Random.Shared"/>, is).</param>
    public RandomLoadBalancer(ImmutableArray<UpstreamEndpoint> hosts, Random? random = null)
    {
        _selector = new WeightedSelector(hosts);
        _random = random ?? Random.Shared;
    }

    public UpstreamEndpoint? Pick(in LoadBalancerContext context) =>
        _selector.Count == 0 ? null : _selector.Next(_random);
}
