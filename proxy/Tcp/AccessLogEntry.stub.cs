namespace Herald.Proxy.Observability.AccessLog;

// Stub of the access-log helper's entry, per the contract; dropped at merge.
#pragma warning disable CA1051 // the contract declares fields
internal sealed class AccessLogEntry
{
    public DateTimeOffset StartTime;
    public string Method = "-";
    public string Path = "-";
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
#pragma warning restore CA1051
