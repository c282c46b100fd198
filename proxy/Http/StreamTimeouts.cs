using Herald.Proxy.Http.Filters;
using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Http;

/// <summary>Envoy's per-stream timers: which bounds apply to a request, and the replies when they fire.</summary>
internal static class StreamTimeouts
{
    /// <summary>Envoy's default stream_idle_timeout.</summary>
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Before the response started: 408 "stream timeout" (a gRPC request gets grpc-status 2 UNKNOWN, mapped from 408).</summary>
    public static readonly FilterReply IdleReply = new(408, "stream timeout", HeaderMutations.Empty, "SI");

    /// <summary>Before the response started: 408 "downstream duration timeout"; a gRPC request gets DEADLINE_EXCEEDED.</summary>
    public static readonly FilterReply DurationReply = new(408, "downstream duration timeout", HeaderMutations.Empty, "DT", grpcStatus: 4);

    /// <summary>
    /// The idle timeout and the stream's total bound for this request (<see cref="TimeSpan.Zero"/>: none).
    /// The route's values override the connection manager's; with the route's
    /// grpc_timeout_header_max, a gRPC request's valid grpc-timeout replaces the duration,
    /// capped by that maximum (0: no cap), less grpc_timeout_header_offset when larger.
    /// </summary>
    public static void Resolve(HttpConnectionManagerConfig config, ClusterAction action, IRequestHead request, out TimeSpan idle, out TimeSpan duration)
    {
        var route = action.StreamTimeouts;
        idle = config.StreamIdleTimeout;
        duration = config.MaxStreamDuration;
        if (route is null)
        {
            return;
        }

        idle = route.IdleTimeout ?? idle;
        duration = route.MaxStreamDuration ?? duration;
        if (route.GrpcTimeoutHeaderMax is { } max
            && FilterReply.IsGrpc(request)
            && request.TryGetHeader("grpc-timeout"u8, out var header)
            && GrpcTimeout.TryParse(header, out var grpc))
        {
            duration = max > TimeSpan.Zero && (grpc == TimeSpan.Zero || grpc > max) ? max : grpc;
            var offset = route.GrpcTimeoutHeaderOffset;
            if (offset > TimeSpan.Zero && duration > offset)
            {
                duration -= offset;
            }
        }
    }

    public static FilterReply ReplyFor(StreamTimeoutKind kind, IRequestHead request) =>
        (kind == StreamTimeoutKind.Idle ? IdleReply : DurationReply).For(request);
}
