namespace Herald.Proxy.Observability.AccessLog;

// Stub of the access-log helper's sink, per the contract; dropped at merge.
internal interface IAccessLogSink
{
    void Log(AccessLogEntry entry);
}
