using System.Net;

namespace Herald.Proxy.Http.Http2;

/// <summary>
/// Request content that copies the downstream body as it arrives and flushes every write,
/// so streaming calls (gRPC client and bidirectional streams) are not held back by buffering.
/// </summary>
internal sealed class StreamingContent : HttpContent
{
    private readonly Stream _source;
    private readonly long? _length;
    private readonly StreamTimeoutGuard? _streamGuard;

    public StreamingContent(Stream source, long? length, StreamTimeoutGuard? streamGuard = null)
    {
        _source = source;
        _length = length;
        _streamGuard = streamGuard;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (true)
            {
                var read = await _source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                _streamGuard?.Touch();
                if (read == 0)
                {
                    break;
                }

                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length ?? 0;
        return _length.HasValue;
    }
}
