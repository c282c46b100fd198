using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;

namespace Herald.Xds.Client;

/// <summary>
/// The complete set of resources the ADS client holds at one moment, by name, with the
/// version of each type. The data plane validates it whole and applies it, or refuses it.
/// </summary>
public sealed record XdsResources(
    IReadOnlyDictionary<string, Listener> Listeners,
    IReadOnlyDictionary<string, RouteConfiguration> Routes,
    IReadOnlyDictionary<string, Cluster> Clusters,
    IReadOnlyDictionary<string, ClusterLoadAssignment> Endpoints,
    IReadOnlyDictionary<string, Secret> Secrets,
    IReadOnlyDictionary<string, string> VersionsByTypeUrl)
{
    public static XdsResources Empty { get; } = new(
        new Dictionary<string, Listener>(),
        new Dictionary<string, RouteConfiguration>(),
        new Dictionary<string, Cluster>(),
        new Dictionary<string, ClusterLoadAssignment>(),
        new Dictionary<string, Secret>(),
        new Dictionary<string, string>());
}
