using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http;

/// <summary>
/// The running form of one HTTP connection manager: its validated config, its stats and
/// what it forwards to. Shared by every connection of its filter chain.
/// </summary>
internal sealed class HttpConnectionManager
{
    private HttpConnectionManagerConfig _config;

    public HttpConnectionManager(HttpConnectionManagerConfig config, HttpConnectionManagerStats stats, ClusterManager clusters, UpstreamHttpClients httpClients, TimeProvider time)
    {
        _config = config;
        Stats = stats;
        Clusters = clusters;
        HttpClients = httpClients;
        Time = time;
        StreamSweeper = StreamTimeoutSweeper.For(time);
    }

    /// <summary>The current settings; a route or listener update swaps them for new requests.</summary>
    public HttpConnectionManagerConfig Config => Volatile.Read(ref _config);

    public void Update(HttpConnectionManagerConfig config) => Volatile.Write(ref _config, config);

    public HttpConnectionManagerStats Stats { get; }

    public ClusterManager Clusters { get; }

    public UpstreamHttpClients HttpClients { get; }

    public TimeProvider Time { get; }

    /// <summary>Watches the stream timers of every request on this clock.</summary>
    public StreamTimeoutSweeper StreamSweeper { get; }
}
