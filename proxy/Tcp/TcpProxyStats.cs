using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Tcp;

/// <summary>Envoy's TCP proxy stats (<c>tcp.PREFIX.*</c>), created once per filter config.</summary>
internal sealed class TcpProxyStats
{
    public TcpProxyStats(StatsStore store, string statPrefix)
    {
        Counter Make(string stat) => store.Counter(StatKey.Tcp(statPrefix, stat));

        DownstreamCxTotal = Make("downstream_cx_total");
        DownstreamCxNoRoute = Make("downstream_cx_no_route");
        DownstreamCxRxBytesTotal = Make("downstream_cx_rx_bytes_total");
        DownstreamCxTxBytesTotal = Make("downstream_cx_tx_bytes_total");
        IdleTimeout = Make("idle_timeout");
    }

    public Counter DownstreamCxTotal { get; }

    /// <summary>The picked cluster does not exist.</summary>
    public Counter DownstreamCxNoRoute { get; }

    public Counter DownstreamCxRxBytesTotal { get; }

    public Counter DownstreamCxTxBytesTotal { get; }

    public Counter IdleTimeout { get; }
}
