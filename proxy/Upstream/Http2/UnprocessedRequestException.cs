namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// The upstream never processed the request (a GOAWAY that excluded its stream, REFUSED_STREAM,
/// or a connection that closed before it was sent): the pool sends it again on another
/// connection when nothing of its body was taken yet; otherwise it reads as REFUSED_STREAM to
/// retry policies.
/// </summary>
internal sealed class UnprocessedRequestException(string message, bool bodyStarted)
    : HttpRequestException(HttpRequestError.HttpProtocolError, message, new HttpProtocolException((long)Http2ErrorCode.RefusedStream, message, null))
{
    /// <summary>The request body was being sent: it cannot be sent again.</summary>
    public bool BodyStarted { get; } = bodyStarted;
}
