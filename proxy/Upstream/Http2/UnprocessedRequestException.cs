namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// The upstream's GOAWAY said it never processed the stream: the request can go on another
/// connection. It reads as REFUSED_STREAM to retry policies when it cannot be resent.
/// </summary>
internal sealed class UnprocessedRequestException(string message)
    : HttpRequestException(HttpRequestError.HttpProtocolError, message, new HttpProtocolException((long)Http2ErrorCode.RefusedStream, message, null));
