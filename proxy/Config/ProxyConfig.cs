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

    /// <summary>What ADS delivered (empty for a static bootstrap).</summary>
    public Herald.Xds.Client.XdsResources Dynamic { get; init; } = Herald.Xds.Client.XdsResources.Empty;

    /// <summary>The bootstrap's ADS settings, when it names a control plane.</summary>
    public AdsSettings? AdsConfig { get; init; }

    public string NodeId => Bootstrap.Node?.Id ?? string.Empty;
}
