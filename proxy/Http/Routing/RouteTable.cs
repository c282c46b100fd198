namespace Herald.Proxy.Http.Routing;

/// <summary>
/// An immutable, validated Envoy RouteConfiguration: finds the virtual host by authority and
/// the first matching route within it, without allocating for non-regex matches.
/// </summary>
internal sealed class RouteTable
{
    private readonly VirtualHostIndex _index;

    internal RouteTable(string name, IReadOnlyList<VirtualHost> virtualHosts, VirtualHostIndex index, IReadOnlyCollection<string> referencedClusters, bool? validateClusters)
    {
        Name = name;
        VirtualHosts = virtualHosts;
        _index = index;
        ReferencedClusters = referencedClusters;
        ValidateClusters = validateClusters;
    }

    public string Name { get; }

    public IReadOnlyList<VirtualHost> VirtualHosts { get; }

    /// <summary>Every cluster any route can send to.</summary>
    public IReadOnlyCollection<string> ReferencedClusters { get; }

    /// <summary>
    /// validate_clusters as configured (null when unset: Envoy then validates inline route
    /// configurations and not RDS ones); the caller checks <see cref="ReferencedClusters"/>.
    /// </summary>
    public bool? ValidateClusters { get; }

    /// <summary>Translates and validates; throws <see cref="Config.ConfigException"/> naming the bad field.</summary>
    public static RouteTable Translate(Envoy.Config.Route.V3.RouteConfiguration config, string path) =>
        RouteTableTranslator.Translate(config, path);

    public VirtualHost? FindVirtualHost(ReadOnlySpan<byte> authority) => _index.Find(authority);

    /// <summary>The first route of the request's virtual host whose match holds, or null.</summary>
    public Route? Match(IRequestHead request) => (_index.SoleHost ?? _index.Find(request.Authority))?.Match(request);
}
