namespace Herald.Xds.ControlPlane;

/// <summary>
/// Herald's mesh file, validated: what runs in the mesh, how requests to each service are
/// routed, what lives outside it, the gateways at its edge and what each sidecar depends on.
/// The control plane turns it, with the registry's instances, into Envoy resources.
/// </summary>
public sealed record MeshConfig(
    IReadOnlyList<MeshService> Services,
    IReadOnlyList<ExternalService> External,
    IReadOnlyList<MeshGateway> Gateways,
    IReadOnlyList<MeshSidecar> Sidecars)
{
    public static MeshConfig Empty { get; } = new([], [], [], []);

    /// <summary>
    /// Not from the file: the control plane's own demand endpoint (<c>/v1/demand</c>), given to
    /// data planes in activation policies so they report demand to it too.
    /// </summary>
    public Uri? DemandUrl { get; init; }

    public MeshService? FindService(string name)
    {
        foreach (var service in Services)
        {
            if (service.Name == name)
            {
                return service;
            }
        }

        return null;
    }

    public ExternalService? FindExternal(string name)
    {
        foreach (var external in External)
        {
            if (external.Name == name)
            {
                return external;
            }
        }

        return null;
    }
}

public enum MeshProtocol
{
    Http,
    Http2,
    Grpc,
    Tcp,
    Tls,
}

/// <summary>A service whose instances come from the registry.</summary>
public sealed record MeshService(
    string Name,
    string? Namespace,
    bool Mesh,
    IReadOnlyList<MeshPort> Ports,
    IReadOnlyList<MeshSubset> Subsets,
    MeshRouting Routing)
{
    /// <summary>Hold requests while the service has no instance or is at its concurrency limit; null: fail fast (503) as usual.</summary>
    public MeshActivation? Activation { get; init; }

    /// <summary>Circuit breakers for every cluster of the service; null: Envoy's defaults.</summary>
    public MeshCircuitBreakers? CircuitBreakers { get; init; }

    /// <summary>Passive health checking on every cluster of the service (sidecars and gateways); null: none.</summary>
    public MeshOutlierDetection? OutlierDetection { get; init; }

    /// <summary>Active health checking on every cluster of the service (sidecars and gateways); null: none.</summary>
    public MeshHealthCheck? HealthCheck { get; init; }

    /// <summary>Instances imported from another registry (DNS) besides the registered ones; null: none.</summary>
    public MeshImport? Import { get; init; }

    public MeshSubset? FindSubset(string name)
    {
        foreach (var subset in Subsets)
        {
            if (subset.Name == name)
            {
                return subset;
            }
        }

        return null;
    }
}

/// <summary>
/// A service's activation policy: data planes hold its requests up to <see cref="HoldTimeout"/>,
/// at most <see cref="QueueDepth"/> at once, sending each instance at most
/// <see cref="EndpointConcurrency"/> at a time (0: no limit), and POST demand to
/// <see cref="Webhook"/> when requests start waiting for a service with no instance.
/// </summary>
public sealed record MeshActivation(TimeSpan HoldTimeout, int QueueDepth, int EndpointConcurrency, Uri? Webhook)
{
    public static readonly TimeSpan DefaultHoldTimeout = TimeSpan.FromSeconds(30);

    public const int DefaultQueueDepth = 10_000;
}

/// <summary>A port clients dial; instances listen on <see cref="TargetPort"/> (defaults to the same port).</summary>
public sealed record MeshPort(int Port, MeshProtocol Protocol, string? Name, int? TargetPort)
{
    public bool IsHttp => Protocol is MeshProtocol.Http or MeshProtocol.Http2 or MeshProtocol.Grpc;

    public int InstancePort => TargetPort ?? Port;
}

/// <summary>Instances whose labels include all of <see cref="Labels"/>, released as <see cref="Version"/>.</summary>
public sealed record MeshSubset(string Name, IReadOnlyDictionary<string, string> Labels, SemVersion? Version);

/// <summary>Rules in order, the first match wins; requests no rule matches go to all instances.</summary>
public sealed record MeshRouting(IReadOnlyList<MeshRouteRule> Rules, TimeSpan? Timeout, MeshRetries? Retries)
{
    public static MeshRouting None { get; } = new([], null, null);
}

public sealed record MeshRouteRule(MeshMatch Match, MeshRouteAction Action, TimeSpan? Timeout, MeshRetries? Retries);

public enum MeshPathKind
{
    None,
    Prefix,
    Exact,
    Regex,
}

public sealed record MeshMatch(
    MeshPathKind PathKind,
    string? Path,
    IReadOnlyList<MeshValueMatch> Headers,
    IReadOnlyList<MeshValueMatch> Cookies,
    IReadOnlyList<MeshValueMatch> Query)
{
    public static MeshMatch Any { get; } = new(MeshPathKind.None, null, [], [], []);
}

/// <summary>A named value compared exactly, or against a regular expression when <see cref="IsRegex"/>.</summary>
public sealed record MeshValueMatch(string Name, string Value, bool IsRegex);

public enum MeshActionKind
{
    /// <summary>All instances of the service.</summary>
    Service,
    Subset,
    Split,
    Version,
}

public sealed record MeshRouteAction(
    MeshActionKind Kind,
    string? Subset,
    IReadOnlyList<MeshWeightedSubset> Split,
    SemVerRange? VersionRange)
{
    public static MeshRouteAction AllInstances { get; } = new(MeshActionKind.Service, null, [], null);
}

public sealed record MeshWeightedSubset(string Subset, int Weight);

public sealed record MeshRetries(int Attempts, TimeSpan? PerTryTimeout, string? On);

/// <summary>A service outside the mesh: fixed addresses, or a DNS name resolved by the proxy.</summary>
public sealed record ExternalService(
    string Name,
    int Port,
    MeshProtocol Protocol,
    IReadOnlyList<ExternalAddress> Addresses,
    string? Dns,
    MeshRouting Routing);

public sealed record ExternalAddress(string Host, int Port);

public sealed record MeshGateway(string Name, int Port, IReadOnlyList<string> Hosts, IReadOnlyList<MeshGatewayRoute> Routes);

/// <summary>
/// Requests matching <see cref="Match"/> go to <see cref="Service"/> (mesh or external) on
/// <see cref="Port"/>; the service's own rules then pick the subset.
/// </summary>
public sealed record MeshGatewayRoute(MeshMatch Match, string Service, int? Port);

/// <summary>
/// A workload's sidecar: the service it runs (its inbound ports) and what it calls. A null
/// dependency list means every service.
/// </summary>
public sealed record MeshSidecar(string Workload, string? Service, IReadOnlyList<string>? Dependencies);
