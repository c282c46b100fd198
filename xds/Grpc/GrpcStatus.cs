namespace Herald.Xds.Grpc;

/// <summary>The outcome of a gRPC call: a code and an optional human-readable message.</summary>
public readonly record struct GrpcStatus(GrpcStatusCode Code, string Message)
{
    public static GrpcStatus Ok => new(GrpcStatusCode.OK, string.Empty);

    public bool IsOk => Code == GrpcStatusCode.OK;

    public override string ToString() =>
        Message.Length == 0 ? Code.ToString() : $"{Code}: {Message}";

    /// <summary>
    /// The status for a non-200 HTTP response, per gRPC's HTTP-to-status mapping: a peer
    /// that is not a gRPC server (a proxy, a load balancer) answered.
    /// </summary>
    public static GrpcStatus FromHttpStatus(int httpStatus)
    {
        var code = httpStatus switch
        {
            400 => GrpcStatusCode.Internal,
            401 => GrpcStatusCode.Unauthenticated,
            403 => GrpcStatusCode.PermissionDenied,
            404 => GrpcStatusCode.Unimplemented,
            429 or 502 or 503 or 504 => GrpcStatusCode.Unavailable,
            _ => GrpcStatusCode.Unknown,
        };
        return new GrpcStatus(code, $"HTTP status {httpStatus} from a gRPC peer");
    }
}
