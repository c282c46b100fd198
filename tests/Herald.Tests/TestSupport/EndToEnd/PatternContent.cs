using System.Net;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A request body of <see cref="Length"/> bytes of <see cref="RecordingUpstream.Pattern"/>,
/// written from one reused buffer: the client never holds the body.
/// </summary>
public sealed class PatternContent : HttpContent
{
    private readonly bool _chunked;

    /// <param name="chunked">When true no Content-Length is sent (chunked upload).</param>
    public PatternContent(long length, bool chunked = false)
    {
        Length = length;
        _chunked = chunked;
        Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
    }

    public long Length { get; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        RecordingUpstream.WritePatternAsync(stream, Length, cancellationToken);

    protected override bool TryComputeLength(out long length)
    {
        length = Length;
        return !_chunked;
    }
}
