namespace Herald.Proxy.Http;

/// <summary>
/// The parts of a request that routing, hashing and rewriting read, as ASCII bytes, so
/// the HTTP/1.1 path can route without turning its head into strings.
/// </summary>
internal interface IRequestHead
{
    /// <summary>Method, for example <c>GET</c>.</summary>
    ReadOnlySpan<byte> Method { get; }

    /// <summary>Host header or :authority, as sent (may carry a port).</summary>
    ReadOnlySpan<byte> Authority { get; }

    /// <summary>Path without the query, as sent.</summary>
    ReadOnlySpan<byte> Path { get; }

    /// <summary>Query without the leading '?', or empty.</summary>
    ReadOnlySpan<byte> Query { get; }

    /// <summary><c>http</c> or <c>https</c>.</summary>
    ReadOnlySpan<byte> Scheme { get; }

    /// <summary>
    /// First value of a header; <paramref name="lowerCaseName"/> is lower case ASCII.
    /// Pseudo headers are not looked up here.
    /// </summary>
    bool TryGetHeader(ReadOnlySpan<byte> lowerCaseName, out ReadOnlySpan<byte> value);

    /// <summary>The downstream peer's address (for hash policies and x-forwarded-for).</summary>
    System.Net.IPAddress? RemoteAddress { get; }
}
