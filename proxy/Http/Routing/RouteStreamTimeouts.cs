namespace Herald.Proxy.Http.Routing;

/// <summary>A route's <c>idle_timeout</c> and <c>max_stream_duration</c>; null on routes that set neither.</summary>
internal sealed class RouteStreamTimeouts
{
    /// <summary>Overrides the connection manager's stream_idle_timeout; <see cref="TimeSpan.Zero"/> disables it.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>Overrides the connection manager's max_stream_duration; <see cref="TimeSpan.Zero"/> disables it.</summary>
    public TimeSpan? MaxStreamDuration { get; init; }

    /// <summary>When set, a gRPC request's grpc-timeout bounds the stream, capped by this (zero: no cap).</summary>
    public TimeSpan? GrpcTimeoutHeaderMax { get; init; }

    /// <summary>Subtracted from the grpc-timeout when it is larger.</summary>
    public TimeSpan GrpcTimeoutHeaderOffset { get; init; }
}
