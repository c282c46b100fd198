namespace Herald.Proxy.Tls;

/// <summary>
/// Where a TLS context's certificate comes from: inline, files (reloaded when they change) or
/// an SDS secret. Each handshake asks for <see cref="Current"/>, so a rotated certificate is used
/// by the next handshake while open connections keep theirs.
/// </summary>
internal interface ICertificateSource
{
    /// <summary>The certificate to present now, or null while none is available (an SDS secret not yet received).</summary>
    TlsCertificate? Current { get; }
}
