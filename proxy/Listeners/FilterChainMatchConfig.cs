namespace Herald.Proxy.Listeners;

/// <summary>Envoy's <c>filter_chain_match</c> criteria Herald honours; empty means "any".</summary>
internal sealed class FilterChainMatchConfig
{
    public static readonly FilterChainMatchConfig Any = new();

    public int? DestinationPort { get; init; }

    /// <summary><c>prefix_ranges</c>: destination addresses (the original destination when redirected).</summary>
    public IReadOnlyList<CidrRange> PrefixRanges { get; init; } = [];

    public IReadOnlyList<string> ServerNames { get; init; } = [];

    /// <summary><c>tls</c>, <c>raw_buffer</c>, or empty.</summary>
    public string TransportProtocol { get; init; } = string.Empty;

    public IReadOnlyList<string> ApplicationProtocols { get; init; } = [];

    /// <summary>True when a criterion needs the first bytes of the connection.</summary>
    public bool NeedsSniffing => ServerNames.Count > 0 || TransportProtocol.Length > 0 || ApplicationProtocols.Count > 0;
}
