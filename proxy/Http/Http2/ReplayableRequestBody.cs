using System.IO.Pipelines;
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
    private readonly PipeReader _source;
    private readonly long? _length;
    private byte[]? _kept;
    private int _keptLength;
    private volatile bool _consumed;
    private volatile bool _completed;
    private volatile bool _overflowed;
    private volatile bool _serializing;

    public ReplayableRequestBody(PipeReader source, long? length)
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

        // Grown as the body arrives: most bodies are far smaller than the bound.
        var needed = _keptLength + data.Length;
        if (_kept is null || _kept.Length < needed)
        {
            var grown = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Min(RetryPolicy.MaxReplayBodyBytes, (_kept?.Length ?? 512) * 2)));
            if (_kept is not null)
            {
                _kept.AsSpan(0, _keptLength).CopyTo(grown);
                System.Buffers.ArrayPool<byte>.Shared.Return(_kept);
            }

            _kept = grown;
        }

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
            try
            {
                while (true)
                {
                    var result = await owner._source.ReadAsync(cancellationToken).ConfigureAwait(false);
                    owner._consumed = true;
                    var buffer = result.Buffer;
                    foreach (var segment in buffer)
                    {
                        owner.Keep(segment.Span);
                        await stream.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
                    }

                    owner._source.AdvanceTo(buffer.End);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        owner._completed = result.IsCompleted;
                        break;
                    }

                    await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
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
