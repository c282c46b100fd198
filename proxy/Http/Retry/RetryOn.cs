namespace Herald.Proxy.Http.Retry;

/// <summary>The conditions of a route's <c>retry_policy.retry_on</c>, as Envoy names them.</summary>
[Flags]
internal enum RetryOn
{
    None = 0,

    /// <summary><c>5xx</c>: any 5xx response, a reset, a connect failure or a per-try timeout.</summary>
    FiveXx = 1 << 0,

    /// <summary><c>gateway-error</c>: 502, 503 or 504, a reset, a connect failure or a per-try timeout.</summary>
    GatewayError = 1 << 1,

    /// <summary><c>reset</c>: no response at all (disconnect, reset, connect failure, per-try timeout).</summary>
    Reset = 1 << 2,

    /// <summary><c>connect-failure</c>: the connection could not be made.</summary>
    ConnectFailure = 1 << 3,

    /// <summary><c>retriable-4xx</c>: 409.</summary>
    Retriable4xx = 1 << 4,

    /// <summary><c>refused-stream</c>: an HTTP/2 upstream refused the stream.</summary>
    RefusedStream = 1 << 5,

    /// <summary><c>retriable-status-codes</c>: the codes in <c>retriable_status_codes</c>.</summary>
    RetriableStatusCodes = 1 << 6,

    /// <summary><c>retriable-headers</c>: a response header matches one of <c>retriable_headers</c>.</summary>
    RetriableHeaders = 1 << 12,

    GrpcCancelled = 1 << 7,
    GrpcDeadlineExceeded = 1 << 8,
    GrpcInternal = 1 << 9,
    GrpcResourceExhausted = 1 << 10,
    GrpcUnavailable = 1 << 11,

    AnyGrpc = GrpcCancelled | GrpcDeadlineExceeded | GrpcInternal | GrpcResourceExhausted | GrpcUnavailable,
}
