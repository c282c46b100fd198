namespace Herald.Proxy.Upstream;

/// <summary>An upstream connection could not be made; the message is Envoy's reset reason.</summary>
internal sealed class UpstreamConnectException : Exception
{
    public UpstreamConnectException()
    {
    }

    public UpstreamConnectException(string message)
        : base(message)
    {
    }

    public UpstreamConnectException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
