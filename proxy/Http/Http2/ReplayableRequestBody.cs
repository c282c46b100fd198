using System.Net;
using Herald.Proxy.Http.Retry;

namespace Herald.Proxy.Http.Http2;

/// <summary>
/// The downstream body of a request whose route retries: the first attempt streams it (so
/// gRPC streams are not held back) while its first <see cref="RetryPolicy.MaxReplayBodyBytes"/>
/// are kept. A later attempt can send it again only if the first never read from it, or read
/// all of it within the bound: a large or still-streaming body is never retried.
/// </summary>
internal sealed class ReplayableRequestBody : IDisposable
{
    private readonly Stream _source;
    private readonly long? _length;
    private byte[]? _kept;
    private int _keptLength;
    private volatile bool _consumed;
    private volatile bool _completed;
    private volatile bool _overflowed;
    private volatile bool _serializing;

    public ReplayableRequestBody(Stream source, long? length)
    {
        _source = source;
        _length = length;
    }

    /// <summary>Whether another attempt can carry the whole body.</summary>
    public bool CanReplay => !_serializing && (!_consumed || (_completed && !_overflowed));

    /// <summary>Content for the next attempt; call only while <see cref="CanReplay"/>.</summary>
    public HttpContent CreateContent()
    {
        if (!_consumed)
        {
            return new RecordingContent(this);
        }

        return new ReadOnlyMemoryContent(_kept.AsMemory(0, _keptLength));
    }

    public void Dispose()
    {
        if (_kept is { } kept && !_serializing)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(kept);
            _kept = null;
        }
    }

    private void Keep(ReadOnlySpan<byte> data)
    {
        if (_overflowed)
        {
            return;
        }

        if (_keptLength + data.Length > RetryPolicy.MaxReplayBodyBytes)
        {
            _overflowed = true;
            return;
        }

        _kept ??= System.Buffers.ArrayPool<byte>.Shared.Rent(RetryPolicy.MaxReplayBodyBytes);
        data.CopyTo(_kept.AsSpan(_keptLength));
        _keptLength += data.Length;
    }

    private sealed class RecordingContent(ReplayableRequestBody owner) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            owner._serializing = true;
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                while (true)
                {
                    var read = await owner._source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
                    owner._consumed = true;
                    if (read == 0)
                    {
                        owner._completed = true;
                        break;
                    }

                    owner.Keep(buffer.AsSpan(0, read));
                    await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                owner._serializing = false;
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = owner._length ?? 0;
            return owner._length.HasValue;
        }
    }
}
