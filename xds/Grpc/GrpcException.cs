namespace Herald.Xds.Grpc;

/// <summary>A gRPC call ended with a status other than OK.</summary>
public sealed class GrpcException : Exception
{
    public GrpcException(GrpcStatus status)
        : this(status, null, null)
    {
    }

    public GrpcException(GrpcStatusCode code, string message)
        : this(new GrpcStatus(code, message), null, null)
    {
    }

    public GrpcException(GrpcStatus status, IReadOnlyList<KeyValuePair<string, string>>? trailers, Exception? innerException)
        : base(status.ToString(), innerException)
    {
        Status = status;
        Trailers = trailers ?? [];
    }

    public GrpcException()
        : this(new GrpcStatus(GrpcStatusCode.Unknown, string.Empty))
    {
    }

    public GrpcException(string message)
        : this(GrpcStatusCode.Unknown, message)
    {
    }

    public GrpcException(string message, Exception innerException)
        : this(new GrpcStatus(GrpcStatusCode.Unknown, message), null, innerException)
    {
    }

    public GrpcStatus Status { get; }

    public GrpcStatusCode StatusCode => Status.Code;

    /// <summary>
    /// Client side: the trailers the server sent with the status. Server side: extra trailers a
    /// handler wants sent with this status.
    /// </summary>
    public IReadOnlyList<KeyValuePair<string, string>> Trailers { get; }
}
