namespace Herald.Proxy.Upstream;

// Stub of the upstream helper's ClusterConfig, per the contract; dropped at merge.
internal sealed class ClusterConfig
{
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);
}
