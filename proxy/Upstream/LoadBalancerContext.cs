using System.Net;

namespace Herald.Proxy.Upstream;

/// <summary>
/// What a request tells the load balancer: the hash for RING_HASH and MAGLEV, if any, and
/// where the downstream connection was going before it was redirected (for ORIGINAL_DST).
/// </summary>
internal readonly struct LoadBalancerContext
{
    public LoadBalancerContext(ulong? hash, IPEndPoint? originalDestination = null)
    {
        Hash = hash;
        OriginalDestination = originalDestination;
    }

    public ulong? Hash { get; }

    public IPEndPoint? OriginalDestination { get; }
}
