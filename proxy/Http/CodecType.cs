namespace Herald.Proxy.Http;

/// <summary>The HTTP connection manager's <c>codec_type</c>.</summary>
internal enum CodecType
{
    Auto,
    Http1,
    Http2,
}
