using System.Text;

namespace Herald.Proxy.Http.Routing;

/// <summary>A route answered with a redirect whose Location is derived from the request.</summary>
internal sealed class RedirectAction : RouteAction
{
    private readonly string? _scheme;
    private readonly string? _host;
    private readonly uint _port;
    private readonly string? _pathRedirect;
    private readonly PathRewriter? _pathRewriter;
    private readonly bool _stripQuery;

    public RedirectAction(int statusCode, string? scheme, string? host, uint port, string? pathRedirect, PathRewriter? pathRewriter, bool stripQuery)
    {
        StatusCode = statusCode;
        _scheme = scheme;
        _host = host;
        _port = port;
        _pathRedirect = pathRedirect;
        _pathRewriter = pathRewriter;
        _stripQuery = stripQuery;
    }

    public int StatusCode { get; }

    public string BuildLocation(IRequestHead request)
    {
        var requestScheme = Encoding.ASCII.GetString(request.Scheme);
        var scheme = _scheme ?? (requestScheme.Length == 0 ? "http" : requestScheme);
        var portSuffix = _port == 0 ? string.Empty : ":" + _port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var host = _host ?? RequestHost(Encoding.ASCII.GetString(request.Authority), requestScheme, scheme, _port != 0);

        var builder = new StringBuilder(scheme.Length + host.Length + request.Path.Length + request.Query.Length + 16);
        builder.Append(scheme).Append("://").Append(host).Append(portSuffix);

        var query = _stripQuery ? ReadOnlySpan<byte>.Empty : request.Query;
        if (_pathRedirect is not null)
        {
            builder.Append(_pathRedirect);
            // A query in path_redirect replaces the request's (Envoy keeps it even with strip_query).
            if (_pathRedirect.Contains('?', StringComparison.Ordinal))
            {
                return builder.ToString();
            }
        }
        else if (_pathRewriter is not null)
        {
            builder.Append(Encoding.UTF8.GetString(_pathRewriter.Rewrite(request.Path, default, default)));
        }
        else
        {
            builder.Append(Encoding.UTF8.GetString(request.Path));
        }

        if (!query.IsEmpty)
        {
            builder.Append('?').Append(Encoding.UTF8.GetString(query));
        }

        return builder.ToString();
    }

    /// <summary>
    /// The request's host for the Location: without its port when a new port is set, or when
    /// the scheme changes and the port was the old scheme's default (as Envoy does).
    /// </summary>
    private static string RequestHost(string authority, string requestScheme, string newScheme, bool newPort)
    {
        var portStart = PortStart(authority);
        if (portStart < 0)
        {
            return authority;
        }

        var port = authority.AsSpan(portStart);
        var remove = newPort;
        if (!string.Equals(newScheme, requestScheme, StringComparison.OrdinalIgnoreCase))
        {
            remove |= requestScheme.Equals("https", StringComparison.OrdinalIgnoreCase) && port.SequenceEqual(":443");
            remove |= requestScheme.Equals("http", StringComparison.OrdinalIgnoreCase) && port.SequenceEqual(":80");
        }

        return remove ? authority[..portStart] : authority;
    }

    /// <summary>Index of the ':' before the port, or -1; understands [IPv6]:port.</summary>
    internal static int PortStart(string authority)
    {
        if (authority.StartsWith('['))
        {
            var close = authority.LastIndexOf("]:", StringComparison.Ordinal);
            return close < 0 ? -1 : close + 1;
        }

        return authority.LastIndexOf(':');
    }
}
