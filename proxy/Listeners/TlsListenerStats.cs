using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Listeners;

/// <summary>Envoy's TLS stats of a listener, <c>listener.ADDRESS.ssl.*</c>; created only for listeners that terminate TLS.</summary>
internal sealed class TlsListenerStats
{
    public TlsListenerStats(StatsStore store, string name)
    {
        ArgumentNullException.ThrowIfNull(store);
        Handshake = store.Counter(Key(name, "handshake"));
        ConnectionError = store.Counter(Key(name, "connection_error"));
        NoCertificate = store.Counter(Key(name, "no_certificate"));
    }

    /// <summary>Handshakes that completed.</summary>
    public Counter Handshake { get; }

    /// <summary>Handshakes that failed (bad client hello, no certificate to present, timeout, rejected client certificate).</summary>
    public Counter ConnectionError { get; }

    /// <summary>Completed handshakes in which the client presented no certificate.</summary>
    public Counter NoCertificate { get; }

    private static StatKey Key(string name, string stat) =>
        StatKey.Listener(name, "ssl." + stat) with { PrometheusName = "envoy_listener_ssl_" + stat };
}
