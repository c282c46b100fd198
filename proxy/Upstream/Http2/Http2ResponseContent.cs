using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// The body of a response from <see cref="Http2ClientConnection"/>: read once, as it arrives.
/// Reading gives flow-control credit back to the upstream; disposing it before the end
/// resets the stream (CANCEL).
/// </summary>
internal sealed class Http2ResponseContent : HttpContent
{
    private readonly Http2ClientStream _stream;
    private ResponseBodyStream? _readStream;
    private int _released;

    public Http2ResponseContent(Http2ClientStream stream)
    {
        _stream = stream;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var source = GetReadStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult<Stream>(GetReadStream());

    protected override Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) => CreateContentReadStreamAsync();

    protected override Stream CreateContentReadStream(CancellationToken cancellationToken) => GetReadStream();

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _released, 1) == 0)
        {
            _stream.Connection.OnResponseDisposed(_stream);
        }

        base.Dispose(disposing);
    }

    /// <summary>The body to read, without the task that <see cref="HttpContent.ReadAsStreamAsync()"/> makes for it.</summary>
    public ResponseBodyStream GetReadStream()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _released) != 0, this);
        return _readStream ??= new ResponseBodyStream(this);
    }

    /// <summary>Reads the stream's body pipe; a read after the content is disposed ends the body.</summary>
    internal sealed class ResponseBodyStream(Http2ResponseContent owner) : Stream
    {
        /// <summary>
        /// The last read took the body's last byte (the upstream ended the stream before it):
        /// the next read would answer 0 at once, so a copier need not flush before it.
        /// </summary>
        public bool EndReached { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Volatile.Read(ref owner._released) != 0)
            {
                return ValueTask.FromException<int>(new ObjectDisposedException(nameof(Http2ResponseContent)));
            }

            if (owner._stream.BodyError is { } error)
            {
                return ValueTask.FromException<int>(error);
            }

            var reader = owner._stream.BodyReader;
            if (reader.TryRead(out var result))
            {
                return new ValueTask<int>(Consume(reader, result, buffer.Span));
            }

            return ReadSlowAsync(reader, buffer, cancellationToken);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) =>
            ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
        private async ValueTask<int> ReadSlowAsync(PipeReader reader, Memory<byte> buffer, CancellationToken cancellationToken)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException)
            {
                throw;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new IOException(e.Message, e);
            }

            return Consume(reader, result, buffer.Span);
        }

        private int Consume(PipeReader reader, ReadResult result, Span<byte> destination)
        {
            var data = result.Buffer;
            if (result.IsCanceled && owner._stream.BodyError is { } error)
            {
                reader.AdvanceTo(data.Start);
                throw error;
            }

            if (data.IsEmpty)
            {
                reader.AdvanceTo(data.End);
                if (result.IsCanceled && !result.IsCompleted)
                {
                    throw new IOException("the response body read was canceled");
                }

                return 0;
            }

            var count = (int)Math.Min(data.Length, destination.Length);
            data.Slice(0, count).CopyTo(destination);
            reader.AdvanceTo(data.GetPosition(count));
            EndReached = result.IsCompleted && count == data.Length && owner._stream.BodyError is null;
            owner._stream.Connection.OnBodyConsumed(owner._stream, count);
            return count;
        }
    }
}
