using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;

namespace Herald.Proxy.Admin;

/// <summary>
/// The configuration <c>/config_dump</c> shows. Dynamic resources, versions and the last
/// NACK are to be added as optional init-only members, so existing callers keep compiling.
/// </summary>
internal sealed record ConfigDumpView(
    Envoy.Config.Bootstrap.V3.Bootstrap Bootstrap,
    IReadOnlyList<Listener> StaticListeners,
    IReadOnlyList<Cluster> StaticClusters,
    IReadOnlyList<RouteConfiguration> StaticRouteConfigs,
    DateTimeOffset LastUpdated)
{
    /// <summary>Resources delivered over ADS and the client's per-type status, when a control plane is used.</summary>
    public XdsDumpView? Dynamic { get; init; }
}

/// <summary>Dynamic resources with their versions, and the last NACK per type.</summary>
internal sealed record XdsDumpView(Herald.Xds.Client.XdsResources Resources, Herald.Xds.Client.XdsClientStatus Status);
