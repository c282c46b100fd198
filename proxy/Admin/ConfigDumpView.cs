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
    DateTimeOffset LastUpdated);
