namespace Herald.Proxy.Upstream;

/// <summary>
/// A locally originated upstream failure, reported to outlier detection. As in Envoy's default
/// mode (<c>split_external_local_origin_errors: false</c>), each counts as the 5xx the proxy
/// answers in its place: a gateway failure.
/// </summary>
internal enum UpstreamFailureKind
{
    /// <summary>The TCP connection could not be made (refused, unreachable, connect timeout): 503.</summary>
    ConnectFailure,

    /// <summary>The upstream reset or closed the connection before a complete response: 503.</summary>
    Reset,

    /// <summary>No response within the route's timeout (or per-try timeout): 504.</summary>
    Timeout,
}
