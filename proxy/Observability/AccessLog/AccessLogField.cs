namespace Herald.Proxy.Observability.AccessLog;

/// <summary>What one segment of an access log format writes.</summary>
internal enum AccessLogField
{
    Literal,
    StartTime,
    Method,
    Path,
    Protocol,
    ResponseCode,
    ResponseFlags,
    BytesReceived,
    BytesSent,
    Duration,
    UpstreamServiceTime,
    XForwardedFor,
    UserAgent,
    RequestId,
    Authority,
    UpstreamHost,
}
