namespace Herald.Proxy.Observability.AccessLog;

/// <summary>
/// One request or connection as the access log sees it. The HTTP and TCP paths fill it only
/// when a sink exists; once handed to <see cref="IAccessLogSink.Log"/> it belongs to the
/// sinks, which format it later on their own task, so the caller must not change or reuse it.
/// </summary>
internal sealed class AccessLogEntry
{
    public DateTimeOffset StartTime;
    public string Method = "-";

    /// <summary>The path as the client sent it, before any rewrite.</summary>
    public string Path = "-";

    /// <summary><c>HTTP/1.1</c>, <c>HTTP/2</c>, or <c>-</c> for TCP.</summary>
    public string Protocol = "-";

    public int ResponseCode;
    public string ResponseFlags = "-";
    public long BytesReceived;
    public long BytesSent;
    public long DurationMs;
    public long? UpstreamServiceTimeMs;
    public string? XForwardedFor;
    public string? UserAgent;
    public string? RequestId;
    public string? Authority;
    public string? UpstreamHost;
}
