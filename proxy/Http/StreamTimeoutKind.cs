namespace Herald.Proxy.Http;

/// <summary>Which stream timer ended a request, if any.</summary>
internal enum StreamTimeoutKind
{
    None,

    /// <summary>No bytes either way for stream_idle_timeout (or the route's idle_timeout).</summary>
    Idle,

    /// <summary>max_stream_duration, or the route's bound from the request's grpc-timeout.</summary>
    Duration,
}
