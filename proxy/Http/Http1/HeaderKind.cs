namespace Herald.Proxy.Http.Http1;

/// <summary>Headers the proxy must understand or rewrite; everything else is relayed verbatim.</summary>
internal enum HeaderKind : byte
{
    Other,
    Host,
    ContentLength,
    TransferEncoding,
    Connection,
    KeepAlive,
    ProxyConnection,
    Te,
    Upgrade,
    Expect,
    XForwardedFor,
    XForwardedProto,
    XRequestId,
    Http2Settings,
    Trailer,
    UserAgent,
    XEnvoyOriginalPath,
}
