namespace Herald.Proxy.Http.Routing;

/// <summary>One route of a virtual host: its match, its action and its merged header mutations.</summary>
internal sealed class Route
{
    public Route(
        VirtualHost virtualHost,
        string name,
        RouteMatcher matcher,
        RouteAction action,
        HeaderMutations requestHeaderMutations,
        HeaderMutations responseHeaderMutations)
    {
        VirtualHost = virtualHost;
        Name = name;
        Matcher = matcher;
        Action = action;
        RequestHeaderMutations = requestHeaderMutations;
        ResponseHeaderMutations = responseHeaderMutations;
    }

    public VirtualHost VirtualHost { get; }

    public string Name { get; }

    public RouteMatcher Matcher { get; }

    public RouteAction Action { get; }

    /// <summary>Route, then virtual host, then route configuration entries.</summary>
    public HeaderMutations RequestHeaderMutations { get; }

    public HeaderMutations ResponseHeaderMutations { get; }

    /// <summary>typed_per_filter_config of the route, or null.</summary>
    public Filters.HttpFilterOverrides? FilterOverrides { get; init; }
}
