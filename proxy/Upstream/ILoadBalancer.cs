namespace Herald.Proxy.Upstream;

/// <summary>
/// Picks an endpoint of one immutable endpoint set. Implementations are thread-safe and do
/// not allocate in <see cref="Pick"/>; a new set gets a new load balancer.
/// </summary>
internal interface ILoadBalancer
{
    /// <summary>The chosen endpoint, or null when the set is empty.</summary>
    UpstreamEndpoint? Pick(in LoadBalancerContext context);
}
