using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http;

/// <summary>
/// The running form of one HTTP connection manager: its validated config, its stats and
/// what it forwards to. Shared by every connection of its filter chain.
/// </summary>
internal sealed class HttpConnectionManager
{
    public HttpConnectionManager(HttpConnectionManagerConfig config, HttpConnectionManagerStats stats, ClusterManager clusters, UpstreamHttpClients httpClients, TimeProvider time)
    {
        Config = config;
        Stats = stats;
        Clusters = clusters;
        HttpClients = httpClients;
        Time = time;
    }

    public HttpConnectionManagerConfig Config { get; }

    public HttpConnectionManagerStats Stats { get; }

    public ClusterManager Clusters { get; }

    public UpstreamHttpClients HttpClients { get; }

    public TimeProvider Time { get; }
}
