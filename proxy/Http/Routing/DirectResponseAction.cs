namespace Herald.Proxy.Http.Routing;

/// <summary>A route answered by the proxy itself with a fixed status and body.</summary>
internal sealed class DirectResponseAction : RouteAction
{
    public DirectResponseAction(int statusCode, ReadOnlyMemory<byte> body)
    {
        StatusCode = statusCode;
        Body = body;
    }

    public int StatusCode { get; }

    public ReadOnlyMemory<byte> Body { get; }
}
