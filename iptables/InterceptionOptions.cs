namespace Herald.Iptables;

/// <summary>
/// What to intercept and where to send it. The defaults follow Istio's conventions so
/// operators' habits carry over: outbound to 15001, inbound to 15006, proxy UID/GID 1337.
/// </summary>
public sealed record InterceptionOptions
{
    /// <summary>Ports the proxy serves itself (metrics, health, status); inbound traffic to them is never captured.</summary>
    public static readonly IReadOnlyList<int> DefaultExcludedInboundPorts = [15020, 15021, 15090];

    public int ProxyPort { get; init; } = 15001;

    public int InboundPort { get; init; } = 15006;

    public uint ProxyUid { get; init; } = 1337;

    public uint ProxyGid { get; init; } = 1337;

    public InboundMode InboundMode { get; init; } = InboundMode.Redirect;

    public Backend Backend { get; init; } = Backend.Iptables;

    /// <summary>Render and apply IPv6 rules too (skipped with a note when the kernel has no IPv6).</summary>
    public bool Ipv6 { get; init; } = true;

    /// <summary>Null means every port ("*"); an empty list captures no inbound traffic.</summary>
    public IReadOnlyList<int>? IncludeInboundPorts { get; init; }

    /// <summary>Sorted, without duplicates, always including <see cref="DefaultExcludedInboundPorts"/>.</summary>
    public IReadOnlyList<int> ExcludeInboundPorts { get; init; } = DefaultExcludedInboundPorts;

    /// <summary>Sorted, without duplicates.</summary>
    public IReadOnlyList<int> ExcludeOutboundPorts { get; init; } = [];

    /// <summary>Null means every destination ("*"); otherwise only these are captured.</summary>
    public IReadOnlyList<Cidr>? IncludeOutboundCidrs { get; init; }

    public IReadOnlyList<Cidr> ExcludeOutboundCidrs { get; init; } = [];

    /// <summary>The firewall mark of TPROXY'd packets and the routing table that delivers them locally (0x539 = 1337).</summary>
    public uint TproxyMark { get; init; } = 1337;

    public int TproxyRouteTable { get; init; } = 133;
}
