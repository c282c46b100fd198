using System.Net;

namespace Herald.Proxy.Listeners;

/// <summary>A validated Envoy listener.</summary>
internal sealed class ListenerConfig
{
    public required string Name { get; init; }

    public required IPEndPoint Address { get; init; }

    public required IReadOnlyList<FilterChainConfig> FilterChains { get; init; }

    public FilterChainConfig? DefaultFilterChain { get; init; }

    /// <summary>
    /// How long to wait for a client's first bytes before treating the connection as raw
    /// TCP (server-first protocols). Envoy's <c>listener_filters_timeout</c>; Herald's
    /// default is 100 ms, not Envoy's 15 s, so server-first protocols never stall.
    /// </summary>
    public TimeSpan SniffTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Envoy's <c>original_dst</c> listener filter: chains are matched on the destination a
    /// redirected connection was headed for (SO_ORIGINAL_DST), not the listener's own port.
    /// </summary>
    public bool UseOriginalDestination { get; init; }

    /// <summary>
    /// Envoy's <c>transparent</c>: the socket takes connections addressed anywhere (IP_TRANSPARENT,
    /// for TPROXY), and a connection's local address is its original destination.
    /// </summary>
    public bool Transparent { get; init; }

    /// <summary>True when choosing a chain, or the HTTP codec, needs the first bytes.</summary>
    public bool NeedsSniffing { get; init; }

    public required Envoy.Config.Listener.V3.Listener Source { get; init; }
}
