namespace Herald.Xds.Streams;

/// <summary>
/// One side of a bidirectional message stream: a gRPC call over HTTP/2, or an in-memory
/// pair when the control plane and the data plane share a process. Reading returns null
/// at the end of the stream.
/// </summary>
public interface IMessageStream<TIn, TOut> : IAsyncDisposable
    where TIn : class
    where TOut : class
{
    ValueTask<TIn?> ReadAsync(CancellationToken cancellationToken);

    ValueTask WriteAsync(TOut message, CancellationToken cancellationToken);

    /// <summary>No more writes from this side (half-close).</summary>
    ValueTask CompleteAsync();
}
