namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// A header block could not be decoded. For HTTP/2 this is a COMPRESSION_ERROR, a connection
/// error: the decoder's dynamic table is out of step with the peer's, so the connection must close.
/// </summary>
internal sealed class HPackDecodingException : Exception
{
    public HPackDecodingException()
    {
    }

    public HPackDecodingException(string message)
        : base(message)
    {
    }

    public HPackDecodingException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
