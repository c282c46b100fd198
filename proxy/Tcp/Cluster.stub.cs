using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream;

// Stub of the upstream helper's Cluster, per the contract; dropped at merge.
internal sealed class Cluster
{
    private readonly IReadOnlyList<UpstreamEndpoint> _endpoints;
    private int _next;

    public Cluster(string name, ClusterConfig config, StatsStore stats, IReadOnlyList<UpstreamEndpoint> endpoints)
    {
        Name = name;
        Config = config;
        Stats = new ClusterStats(stats, name);
        _endpoints = endpoints;
    }

    public string Name { get; }

    public ClusterConfig Config { get; }

    public ClusterStats Stats { get; }

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        if (_endpoints.Count == 0)
        {
            return null;
        }

        var index = (int)((uint)Interlocked.Increment(ref _next) % (uint)_endpoints.Count);
        return _endpoints[index];
    }
}
