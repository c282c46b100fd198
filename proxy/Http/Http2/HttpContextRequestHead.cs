using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Herald.Proxy.Http.Http2;

/// <summary>Routing's view of a request that Kestrel parsed (HTTP/2 downstream).</summary>
internal sealed class HttpContextRequestHead : IRequestHead
{
    private static readonly byte[] Get = "GET"u8.ToArray();
    private static readonly byte[] Post = "POST"u8.ToArray();

    private readonly HttpContext _context;
    private readonly bool _isTls;

    // Made on first use: most routes read the path and authority only.
    private byte[]? _method;
    private byte[]? _authority;
    private byte[]? _path;
    private byte[]? _query;

    public HttpContextRequestHead(HttpContext context)
    {
        _context = context;
        _isTls = context.Request.IsHttps;
        RemoteAddress = context.Connection.RemoteIpAddress;
    }

    /// <summary>The stream's timers while it is forwarded (null when none applies); body copies touch it.</summary>
    public StreamTimeoutGuard? StreamGuard { get; set; }

    public ReadOnlySpan<byte> Method => _method ??= MethodBytes(_context.Request.Method);

    public ReadOnlySpan<byte> Authority => _authority ??= Encoding.ASCII.GetBytes(_context.Request.Host.Value ?? string.Empty);

    public ReadOnlySpan<byte> Path => _path ??= Encoding.UTF8.GetBytes(_context.Request.PathBase.Value + _context.Request.Path.Value);

    public ReadOnlySpan<byte> Query => _query ??= QueryBytes(_context.Request.QueryString.Value);

    public ReadOnlySpan<byte> Scheme => _isTls ? "https"u8 : "http"u8;

    public IPAddress? RemoteAddress { get; }

    /// <summary>Raw path and query as sent.</summary>
    public string PathAndQuery => _context.Request.Path.Value + _context.Request.QueryString.Value;

    // Kestrel hands out its own constant strings for the common methods.
    private static byte[] MethodBytes(string method) => method switch
    {
        "GET" => Get,
        "POST" => Post,
        _ => Encoding.ASCII.GetBytes(method),
    };

    private static byte[] QueryBytes(string? query) => string.IsNullOrEmpty(query)
        ? []
        : Encoding.ASCII.GetBytes(query.StartsWith('?') ? query[1..] : query);

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
