namespace Herald.Proxy.Listeners;

/// <summary>
/// Envoy's filter chain selection: criteria are applied in order (destination port,
/// server name, transport protocol, application protocols); at each step chains that
/// name a matching value win over chains that leave the criterion empty.
/// </summary>
internal static class FilterChainSelector
{
    public static FilterChainConfig? Select(ListenerConfig listener, int destinationPort, SniffResult? sniff)
    {
        var chains = listener.FilterChains;
        if (chains.Count == 1 && !chains[0].Match.NeedsSniffing && chains[0].Match.DestinationPort is null)
        {
            return chains[0];
        }

        var candidates = new List<FilterChainConfig>(chains.Count);

        // Destination port.
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
