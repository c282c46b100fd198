namespace Herald.Proxy.Observability.AccessLog;

/// <summary>Where finished requests are logged. <see cref="Log"/> never blocks: a full queue drops the entry and counts it.</summary>
internal interface IAccessLogSink
{
    void Log(AccessLogEntry entry);
}
