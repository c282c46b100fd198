using System.Net;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Listeners;

/// <summary>Envoy's per-listener stats, <c>listener.ADDRESS_PORT.*</c> (for example <c>listener.0.0.0.0_15001.downstream_cx_total</c>).</summary>
internal sealed class ListenerStats
{
    /// <param name="statPrefix">The listener's <c>stat_prefix</c>; when empty, its address names the stats.</param>
    public ListenerStats(StatsStore store, IPEndPoint address, string? statPrefix)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(address);
        var name = string.IsNullOrEmpty(statPrefix) ? $"{address.Address}_{address.Port}" : statPrefix;
        Name = name;
        DownstreamCxTotal = store.Counter(StatKey.Listener(name, "downstream_cx_total"));
        DownstreamCxDestroy = store.Counter(StatKey.Listener(name, "downstream_cx_destroy"));
        DownstreamCxActive = store.Gauge(StatKey.Listener(name, "downstream_cx_active"));
        NoFilterChainMatch = store.Counter(StatKey.Listener(name, "no_filter_chain_match"));
    }

    /// <summary>The name in the stats' keys: the stat prefix, or ADDRESS_PORT.</summary>
    public string Name { get; }

    public Counter DownstreamCxTotal { get; }

    public Counter DownstreamCxDestroy { get; }

    public Gauge DownstreamCxActive { get; }

    /// <summary>Connections closed because no filter chain (and no default chain) matched.</summary>
    public Counter NoFilterChainMatch { get; }
}
