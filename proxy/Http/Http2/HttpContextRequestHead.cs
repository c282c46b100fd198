using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Herald.Proxy.Http.Http2;

/// <summary>Routing's view of a request that Kestrel parsed (HTTP/2 downstream).</summary>
internal sealed class HttpContextRequestHead : IRequestHead
{
    private readonly HttpContext _context;
    private readonly byte[] _method;
    private readonly byte[] _authority;
    private readonly byte[] _path;
    private readonly byte[] _query;
    private readonly bool _isTls;

    public HttpContextRequestHead(HttpContext context)
    {
        _context = context;
        var request = context.Request;
        _method = Encoding.ASCII.GetBytes(request.Method);
        _authority = Encoding.ASCII.GetBytes(request.Host.Value ?? string.Empty);
        _path = Encoding.UTF8.GetBytes(request.PathBase.Value + request.Path.Value);
        var query = request.QueryString.Value ?? string.Empty;
        _query = Encoding.ASCII.GetBytes(query.StartsWith('?') ? query[1..] : query);
        _isTls = request.IsHttps;
        RemoteAddress = context.Connection.RemoteIpAddress;
    }

    /// <summary>The stream's timers while it is forwarded (null when none applies); body copies touch it.</summary>
    public StreamTimeoutGuard? StreamGuard { get; set; }

    public ReadOnlySpan<byte> Method => _method;

    public ReadOnlySpan<byte> Authority => _authority;

    public ReadOnlySpan<byte> Path => _path;

    public ReadOnlySpan<byte> Query => _query;

    public ReadOnlySpan<byte> Scheme => _isTls ? "https"u8 : "http"u8;

    public IPAddress? RemoteAddress { get; }

    /// <summary>Raw path and query as sent.</summary>
    public string PathAndQuery => _context.Request.Path.Value + _context.Request.QueryString.Value;

    public bool TryGetHeader(ReadOnlySpan<byte> lowerCaseName, out ReadOnlySpan<byte> value)
    {
        var name = Encoding.ASCII.GetString(lowerCaseName);
        if (_context.Request.Headers.TryGetValue(name, out var values) && values.Count > 0)
        {
            value = Encoding.UTF8.GetBytes(values[0] ?? string.Empty);
            return true;
        }

        value = default;
        return false;
    }
}
