namespace Herald.Xds.Grpc;

/// <summary>Options of a <see cref="GrpcClient"/>.</summary>
public sealed class GrpcClientOptions
{
    /// <summary>Larger response messages end the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; init; } = GrpcFraming.DefaultMaxReceiveMessageSize;

    /// <summary>Messages a duplex call buffers before <c>WriteAsync</c> waits for the network.</summary>
    public int WriteQueueCapacity { get; init; } = 32;
}
