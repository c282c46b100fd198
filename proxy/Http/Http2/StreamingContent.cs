using System.IO.Pipelines;
using System.Net;

namespace Herald.Proxy.Http.Http2;

/// <summary>
/// Request content that copies the downstream body as it arrives and flushes every write,
/// so streaming calls (gRPC client and bidirectional streams) are not held back by buffering.
/// It writes Kestrel's own request buffers, so no copy buffer is rented per stream (with
/// hundreds of streams in flight, rented buffers outran the shared pool and were allocated).
/// </summary>
internal sealed class StreamingContent : HttpContent
{
    private readonly PipeReader _source;
    private readonly long? _length;
    private readonly StreamTimeoutGuard? _streamGuard;

    public StreamingContent(PipeReader source, long? length, StreamTimeoutGuard? streamGuard = null)
    {
        _source = source;
        _length = length;
        _streamGuard = streamGuard;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _source.ReadAsync(cancellationToken).ConfigureAwait(false);
            _streamGuard?.Touch();
            var buffer = result.Buffer;
            foreach (var segment in buffer)
            {
                await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }

            _source.AdvanceTo(buffer.End);
            if (result.IsCompleted || result.IsCanceled)
            {
                // The handler sends what is left with the end of the body.
                break;
            }

            if (!buffer.IsEmpty)
            {
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length ?? 0;
        return _length.HasValue;
    }
}
