using System.Net;
using Herald.Proxy.Listeners;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Config;

/// <summary>
/// The validated, immutable configuration of the data plane: what the runtime snapshot is
/// built from. Produced whole or not at all.
/// </summary>
internal sealed class ProxyConfig
{
    public required Envoy.Config.Bootstrap.V3.Bootstrap Bootstrap { get; init; }

    public required IReadOnlyList<ListenerConfig> Listeners { get; init; }

    public required IReadOnlyList<ClusterConfig> Clusters { get; init; }

    public IPEndPoint? AdminAddress { get; init; }

    public string NodeId => Bootstrap.Node?.Id ?? string.Empty;
}
