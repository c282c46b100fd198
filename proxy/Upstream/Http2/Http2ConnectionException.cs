namespace Herald.Proxy.Upstream.Http2;

/// <summary>The upstream broke the protocol: the connection ends with GOAWAY carrying <see cref="ErrorCode"/>.</summary>
internal sealed class Http2ConnectionException(Http2ErrorCode errorCode, string message) : Exception(message)
{
    public Http2ErrorCode ErrorCode { get; } = errorCode;
}
