namespace Herald.Proxy.Upstream;

/// <summary>How a cluster learns its endpoints (Envoy's <c>Cluster.type</c>).</summary>
internal enum DiscoveryType
{
    Static,
    StrictDns,
    LogicalDns,
    Eds,
    OriginalDst,
}
