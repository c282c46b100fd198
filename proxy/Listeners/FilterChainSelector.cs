using System.Net;

namespace Herald.Proxy.Listeners;

/// <summary>
/// Envoy's filter chain selection: criteria are applied in order (destination port,
/// destination address, server name, transport protocol, application protocols); at each
/// step chains that name a matching value win over chains that leave the criterion empty,
/// and when no chain is left the listener's default chain serves.
/// </summary>
internal static class FilterChainSelector
{
    public static FilterChainConfig? Select(ListenerConfig listener, int destinationPort, SniffResult? sniff) =>
        Select(listener, destinationPort, null, sniff);

    /// <param name="destinationAddress">The connection's destination (its original destination when redirected), for prefix_ranges.</param>
    public static FilterChainConfig? Select(ListenerConfig listener, int destinationPort, IPAddress? destinationAddress, SniffResult? sniff) =>
        Select(listener, MatchDestination(listener, destinationPort, destinationAddress), sniff);

    /// <summary>
    /// The chains left after Envoy's first two criteria: destination port (chains naming it,
    /// else chains naming no port), then destination address (the longest matching prefix,
    /// else chains naming none). A listener with one catch-all chain costs nothing here.
    /// </summary>
    public static IReadOnlyList<FilterChainConfig> MatchDestination(ListenerConfig listener, int destinationPort, IPAddress? destinationAddress)
    {
        var chains = listener.FilterChains;
        return chains.Count == 1 && IsCatchAll(chains[0].Match) ? chains : ByDestination(chains, destinationPort, destinationAddress);
    }

    /// <summary>The chain for a connection, among the chains its destination matched (<see cref="MatchDestination"/>).</summary>
    public static FilterChainConfig? Select(ListenerConfig listener, IReadOnlyList<FilterChainConfig> destinationMatches, SniffResult? sniff)
    {
        if (destinationMatches.Count == 1 && IsCatchAll(destinationMatches[0].Match))
        {
            return destinationMatches[0];
        }

        var candidates = destinationMatches as List<FilterChainConfig> ?? [.. destinationMatches];

        // Server names (exact, then the longest wildcard "*.suffix").
        var serverName = sniff?.ServerName;
        candidates = Narrow(candidates, chain => chain.Match.ServerNames.Count == 0 ? -1 : ServerNameScore(chain.Match.ServerNames, serverName));

        // Transport protocol.
        var transport = sniff?.Protocol == DetectedProtocol.Tls ? "tls" : "raw_buffer";
        candidates = Narrow(candidates, chain => chain.Match.TransportProtocol.Length == 0 ? -1 : (chain.Match.TransportProtocol == transport ? 1 : 0));

        // Application protocols.
        var applicationProtocols = ApplicationProtocolsOf(sniff);
        candidates = Narrow(candidates, chain =>
        {
            if (chain.Match.ApplicationProtocols.Count == 0)
            {
                return -1;
            }

            foreach (var protocol in chain.Match.ApplicationProtocols)
            {
                foreach (var offered in applicationProtocols)
                {
                    if (protocol == offered)
                    {
                        return 1;
                    }
                }
            }

            return 0;
        });

        return candidates.Count > 0 ? candidates[0] : listener.DefaultFilterChain;
    }

    /// <summary>
    /// True when the chain for this destination depends on the connection's first bytes: a
    /// chain left after destination matching looks at SNI, transport or ALPN, or the chain that
    /// would serve speaks HTTP with codec AUTO. Otherwise (a TCP chain, or the passthrough)
    /// nothing is read first, so server-first protocols start at once.
    /// </summary>
    public static bool NeedsSniffing(ListenerConfig listener, int destinationPort, IPAddress? destinationAddress) =>
        NeedsSniffing(listener, MatchDestination(listener, destinationPort, destinationAddress));

    /// <inheritdoc cref="NeedsSniffing(ListenerConfig, int, IPAddress?)"/>
    public static bool NeedsSniffing(ListenerConfig listener, IReadOnlyList<FilterChainConfig> destinationMatches)
    {
        if (!listener.NeedsSniffing)
        {
            return false;
        }

        foreach (var chain in destinationMatches)
        {
            if (chain.Match.NeedsSniffing)
            {
                return true;
            }
        }

        var chosen = destinationMatches.Count > 0 ? destinationMatches[0] : listener.DefaultFilterChain;
        return chosen?.Http?.Codec == Http.CodecType.Auto;
    }

    private static bool IsCatchAll(FilterChainMatchConfig match) =>
        !match.NeedsSniffing && match.DestinationPort is null && match.PrefixRanges.Count == 0;

    private static List<FilterChainConfig> ByDestination(IReadOnlyList<FilterChainConfig> chains, int destinationPort, IPAddress? destinationAddress)
    {
        var candidates = new List<FilterChainConfig>(chains.Count);
        foreach (var chain in chains)
        {
            if (chain.Match.DestinationPort == destinationPort)
            {
                candidates.Add(chain);
            }
        }

        if (candidates.Count == 0)
        {
            foreach (var chain in chains)
            {
                if (chain.Match.DestinationPort is null)
                {
                    candidates.Add(chain);
                }
            }
        }

        return Narrow(candidates, chain => chain.Match.PrefixRanges.Count == 0 ? -1 : PrefixScore(chain.Match.PrefixRanges, destinationAddress));
    }

    // 1 + the longest prefix containing the address, 0 when none does.
    private static int PrefixScore(IReadOnlyList<CidrRange> ranges, IPAddress? address)
    {
        if (address is null)
        {
            return 0;
        }

        var best = 0;
        foreach (var range in ranges)
        {
            if (range.PrefixLength + 1 > best && range.Contains(address))
            {
                best = range.PrefixLength + 1;
            }
        }

        return best;
    }

    /// <summary>
    /// Keeps chains with the best positive score; when none scores positive, keeps the
    /// chains that leave the criterion empty (score -1). Score 0 means "names something else".
    /// </summary>
    private static List<FilterChainConfig> Narrow(List<FilterChainConfig> candidates, Func<FilterChainConfig, int> score)
    {
        var best = 0;
        foreach (var chain in candidates)
        {
            best = Math.Max(best, score(chain));
        }

        var result = new List<FilterChainConfig>(candidates.Count);
        foreach (var chain in candidates)
        {
            var s = score(chain);
            if ((best > 0 && s == best) || (best == 0 && s == -1))
            {
                result.Add(chain);
            }
        }

        return result;
    }

    private static int ServerNameScore(IReadOnlyList<string> names, string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return 0;
        }

        var best = 0;
        foreach (var name in names)
        {
            if (string.Equals(name, serverName, StringComparison.OrdinalIgnoreCase))
            {
                return int.MaxValue;
            }

            if (name.StartsWith("*.", StringComparison.Ordinal) && serverName.EndsWith(name[1..], StringComparison.OrdinalIgnoreCase))
            {
                best = Math.Max(best, name.Length);
            }
        }

        return best;
    }

    private static IReadOnlyList<string> ApplicationProtocolsOf(SniffResult? sniff) => sniff?.Protocol switch
    {
        DetectedProtocol.Http1 => Http1Protocols,
        DetectedProtocol.Http2 => Http2Protocols,
        DetectedProtocol.Tls => sniff.ApplicationProtocols,
        _ => [],
    };

    private static readonly string[] Http1Protocols = ["http/1.1", "http/1.0"];
    private static readonly string[] Http2Protocols = ["h2c"];
}
