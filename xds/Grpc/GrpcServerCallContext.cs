using System.Net;
using Microsoft.AspNetCore.Http;

namespace Herald.Xds.Grpc;

/// <summary>What a server handler knows about its call, and the trailers it adds.</summary>
public sealed class GrpcServerCallContext
{
    private readonly HttpContext _httpContext;
    private List<KeyValuePair<string, string>>? _responseTrailers;

    internal GrpcServerCallContext(HttpContext httpContext, string method, DateTime? deadline, CancellationToken cancellationToken)
    {
        _httpContext = httpContext;
        Method = method;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>The method path, like <c>/package.Service/Method</c>.</summary>
    public string Method { get; }

    public IHeaderDictionary RequestHeaders => _httpContext.Request.Headers;

    /// <summary>When the client's <c>grpc-timeout</c> runs out (UTC); null without one.</summary>
    public DateTime? Deadline { get; }

    /// <summary>Cancelled when the client cancels or goes away, or the deadline passes.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Response headers to send; changes count until the first message is written.</summary>
    public IHeaderDictionary ResponseHeaders => _httpContext.Response.Headers;

    /// <summary>Trailers sent with the status (lowercase keys; not <c>grpc-*</c>).</summary>
    public IList<KeyValuePair<string, string>> ResponseTrailers => _responseTrailers ??= [];

    /// <summary>The client's address, when the transport knows it.</summary>
    public IPEndPoint? Peer =>
        _httpContext.Connection.RemoteIpAddress is { } ip ? new IPEndPoint(ip, _httpContext.Connection.RemotePort) : null;

    internal List<KeyValuePair<string, string>>? TrailersToSend => _responseTrailers;
}
