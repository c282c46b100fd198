namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// What <see cref="HttpContent.CopyToAsync(Stream, CancellationToken)"/> writes a request body
/// to: DATA frames on one stream, within the peer's flow-control windows. Writes are queued and
/// sent on flush, and the last write is held back so END_STREAM rides on it: a body that is
/// all there goes out with the HEADERS in one send.
/// </summary>
internal sealed class Http2RequestBodyStream(Http2ClientConnection connection, Http2ClientStream stream) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        connection.WriteDataAsync(stream, buffer, endStream: false, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        connection.ScheduleFlush();
        return Task.CompletedTask;
    }

    public override void Flush() => connection.ScheduleFlush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
