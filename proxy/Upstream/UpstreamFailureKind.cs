namespace Herald.Proxy.Upstream;

/// <summary>
/// How one upstream attempt ended when it produced no usable response head. Outlier detection
/// counts each (but <see cref="Overflow"/>) as the 5xx Herald answers in its place, a gateway
/// failure, as Envoy does without <c>split_external_local_origin_errors</c>.
/// </summary>
internal enum UpstreamFailureKind
{
    /// <summary>A response head arrived; see its status code.</summary>
    None,

    /// <summary>The connection could not be made (refused, unreachable, connect timeout).</summary>
    ConnectFailure,

    /// <summary>The connection closed or was reset before the response head.</summary>
    Reset,

    /// <summary>An HTTP/2 upstream refused the stream (REFUSED_STREAM).</summary>
    RefusedStream,

    /// <summary>The per-try timeout expired before the response head.</summary>
    PerTryTimeout,

    /// <summary>The route timeout expired before the response head.</summary>
    Timeout,

    /// <summary>The upstream sent something that is not HTTP.</summary>
    ProtocolError,

    /// <summary>A circuit breaker refused the attempt; nothing was sent (not the endpoint's fault).</summary>
    Overflow,
}
