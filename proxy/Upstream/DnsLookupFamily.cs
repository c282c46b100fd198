namespace Herald.Proxy.Upstream;

/// <summary>Which resolved addresses a DNS cluster uses (Envoy's <c>Cluster.dns_lookup_family</c>).</summary>
internal enum DnsLookupFamily
{
    /// <summary>IPv6 addresses when there are any, else IPv4 (Envoy's default).</summary>
    Auto,
    V4Only,
    V6Only,

    /// <summary>IPv4 addresses when there are any, else IPv6.</summary>
    V4Preferred,
    All,
}
