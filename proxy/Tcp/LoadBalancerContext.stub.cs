namespace Herald.Proxy.Upstream;

// Stub of the upstream helper's LoadBalancerContext, per the contract; dropped at merge.
internal readonly struct LoadBalancerContext
{
    public LoadBalancerContext(ulong? hash)
    {
        Hash = hash;
    }

    public ulong? Hash { get; }
}
