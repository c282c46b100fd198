using Herald.Proxy.Http;
using Herald.Proxy.Tcp;

namespace Herald.Proxy.Listeners;

/// <summary>One filter chain: its match and its single terminal network filter.</summary>
internal sealed class FilterChainConfig
{
    public required string Name { get; init; }

    public required FilterChainMatchConfig Match { get; init; }

    public HttpConnectionManagerConfig? Http { get; init; }

    public TcpProxyConfig? Tcp { get; init; }

    /// <summary>The chain's <c>transport_socket</c> when it terminates TLS; null for cleartext.</summary>
    public Tls.DownstreamTlsConfig? Tls { get; init; }
}
