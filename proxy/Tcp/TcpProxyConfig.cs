using Herald.Proxy.Observability.AccessLog;
using TcpProxyProto = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace Herald.Proxy.Tcp;

/// <summary>A validated <c>envoy.filters.network.tcp_proxy</c> configuration.</summary>
internal sealed class TcpProxyConfig
{
    /// <summary>Envoy's default idle timeout for the TCP proxy.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromHours(1);

    private ulong _totalWeight;

    public required string StatPrefix { get; init; }

    /// <summary>The one cluster; null when <see cref="WeightedClusters"/> is used.</summary>
    public string? Cluster { get; init; }

    public IReadOnlyList<(string Name, uint Weight)> WeightedClusters { get; init; } = [];

    /// <summary>No bytes either way for this long closes the connection; zero disables it.</summary>
    public TimeSpan IdleTimeout { get; init; } = DefaultIdleTimeout;

    public IReadOnlyList<IAccessLogSink> AccessLogs { get; init; } = [];

    public TcpProxyProto Source { get; init; } = new();

    /// <summary>Stats made at translation time; the handler makes them when null.</summary>
    public TcpProxyStats? Stats { get; init; }

    /// <summary>The cluster for one connection: <paramref name="random"/> picks among weighted clusters.</summary>
    public string PickCluster(uint random)
    {
        if (Cluster is not null)
        {
            return Cluster;
        }

        var clusters = WeightedClusters;
        var total = _totalWeight;
        if (total == 0)
        {
            for (var i = 0; i < clusters.Count; i++)
            {
                total += clusters[i].Weight;
            }

            _totalWeight = total;
        }

        if (total == 0)
        {
            throw new InvalidOperationException("TCP proxy config has no cluster");
        }

        var point = random % total;
        for (var i = 0; i < clusters.Count; i++)
        {
            var weight = clusters[i].Weight;
            if (point < weight)
            {
                return clusters[i].Name;
            }

            point -= weight;
        }

        return clusters[^1].Name;
    }
}
