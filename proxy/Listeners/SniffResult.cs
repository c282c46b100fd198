namespace Herald.Proxy.Listeners;

internal enum DetectedProtocol
{
    Http1,
    Http2,
    Tls,

    /// <summary>Raw TCP, including server-first protocols (the client sent nothing in time).</summary>
    Other,
}

/// <summary>What the first bytes of a connection say; SNI and ALPN when it is TLS.</summary>
internal sealed record SniffResult(DetectedProtocol Protocol, string? ServerName, IReadOnlyList<string> ApplicationProtocols)
{
    private static readonly IReadOnlyList<string> NoProtocols = [];

    // Shared instances, so the common outcomes allocate nothing.
    public static SniffResult Http1 { get; } = new(DetectedProtocol.Http1, null, NoProtocols);

    public static SniffResult Http2 { get; } = new(DetectedProtocol.Http2, null, NoProtocols);

    public static SniffResult Other { get; } = new(DetectedProtocol.Other, null, NoProtocols);

    /// <summary>TLS whose ClientHello could not be read (malformed, or incomplete in time).</summary>
    public static SniffResult TlsUnknown { get; } = new(DetectedProtocol.Tls, null, NoProtocols);
}
