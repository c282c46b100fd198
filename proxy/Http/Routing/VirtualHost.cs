namespace Herald.Proxy.Http.Routing;

/// <summary>A virtual host of a route table: its domains and its routes, in order.</summary>
internal sealed class VirtualHost
{
    private Route[] _routes = [];
    private Route? _tlsRedirect;

    public VirtualHost(string name, IReadOnlyList<string> domains)
    {
        Name = name;
        Domains = domains;
    }

    public string Name { get; }

    /// <summary>Lower-case domains as configured.</summary>
    public IReadOnlyList<string> Domains { get; }

    public IReadOnlyList<Route> Routes => _routes;

    /// <summary><c>include_request_attempt_count</c>: upstream requests carry <c>x-envoy-attempt-count</c> (1 for the first try).</summary>
    public bool IncludeRequestAttemptCount { get; init; }

    /// <summary><c>include_attempt_count_in_response</c>: responses carry <c>x-envoy-attempt-count</c> (tries made).</summary>
    public bool IncludeAttemptCountInResponse { get; init; }

    /// <summary>typed_per_filter_config of the virtual host, or null.</summary>
    public Filters.HttpFilterOverrides? FilterOverrides { get; init; }

    // Routes refer to their virtual host, so they are attached once after construction.
    internal void SetRoutes(Route[] routes) => _routes = routes;

    /// <summary><c>require_tls: ALL</c>: every request that did not arrive over TLS takes this redirect route.</summary>
    internal void SetTlsRedirect(Route route) => _tlsRedirect = route;

    internal Route? Match(IRequestHead request)
    {
        if (_tlsRedirect is not null && !request.Scheme.SequenceEqual("https"u8))
        {
            return _tlsRedirect;
        }

        foreach (var route in _routes)
        {
            if (route.Matcher.Matches(request))
            {
                return route;
            }
        }

        return null;
    }
}
