namespace Herald.Proxy.Upstream;

/// <summary>What a request tells the load balancer: the hash for RING_HASH and MAGLEV, if any.</summary>
internal readonly struct LoadBalancerContext
{
    public LoadBalancerContext(ulong? hash)
    {
        Hash = hash;
    }

    public ulong? Hash { get; }
}
