using System.Text;

namespace Herald.Proxy.Http.Routing;

/// <summary>
/// Finds a virtual host by authority as Envoy does, case-insensitively and without
/// allocating: exact domain, longest <c>*suffix</c>, longest <c>prefix*</c>, then <c>*</c>.
/// When nothing matches and the authority carries a port, the lookup is retried without it.
/// </summary>
internal sealed class VirtualHostIndex
{
    private readonly Dictionary<byte[], VirtualHost>.AlternateLookup<ReadOnlySpan<byte>> _exact;
    private readonly Dictionary<byte[], VirtualHost>.AlternateLookup<ReadOnlySpan<byte>> _suffixes;
    private readonly Dictionary<byte[], VirtualHost>.AlternateLookup<ReadOnlySpan<byte>> _prefixes;
    private readonly int[] _suffixLengths;
    private readonly int[] _prefixLengths;
    private readonly VirtualHost? _default;

    private VirtualHostIndex(
        Dictionary<byte[], VirtualHost> exact,
        Dictionary<byte[], VirtualHost> suffixes,
        Dictionary<byte[], VirtualHost> prefixes,
        VirtualHost? defaultHost)
    {
        _exact = exact.GetAlternateLookup<ReadOnlySpan<byte>>();
        _suffixes = suffixes.GetAlternateLookup<ReadOnlySpan<byte>>();
        _prefixes = prefixes.GetAlternateLookup<ReadOnlySpan<byte>>();
        _suffixLengths = LengthsLongestFirst(suffixes);
        _prefixLengths = LengthsLongestFirst(prefixes);
        _default = defaultHost;
        SoleHost = exact.Count == 0 && suffixes.Count == 0 && prefixes.Count == 0 ? defaultHost : null;
    }

    /// <summary>The "*" host when it is the only one: every authority finds it, so none need be read.</summary>
    public VirtualHost? SoleHost { get; }

    /// <summary>
    /// Builds the index; <paramref name="onDuplicate"/> is called with the host and index of a
    /// domain already claimed, and must throw.
    /// </summary>
    public static VirtualHostIndex Build(IReadOnlyList<VirtualHost> hosts, Action<int, int> onDuplicate)
    {
        var exact = new Dictionary<byte[], VirtualHost>(AsciiCaseInsensitiveComparer.Instance);
        var suffixes = new Dictionary<byte[], VirtualHost>(AsciiCaseInsensitiveComparer.Instance);
        var prefixes = new Dictionary<byte[], VirtualHost>(AsciiCaseInsensitiveComparer.Instance);
        VirtualHost? defaultHost = null;
        for (var h = 0; h < hosts.Count; h++)
        {
            var host = hosts[h];
            for (var d = 0; d < host.Domains.Count; d++)
            {
                var domain = host.Domains[d];
                bool added;
                if (domain == "*")
                {
                    added = defaultHost is null;
                    defaultHost ??= host;
                }
                else if (domain.StartsWith('*'))
                {
                    added = suffixes.TryAdd(Encoding.UTF8.GetBytes(domain[1..]), host);
                }
                else if (domain.EndsWith('*'))
                {
                    added = prefixes.TryAdd(Encoding.UTF8.GetBytes(domain[..^1]), host);
                }
                else
                {
                    added = exact.TryAdd(Encoding.UTF8.GetBytes(domain), host);
                }

                if (!added)
                {
                    onDuplicate(h, d);
                }
            }
        }

        return new VirtualHostIndex(exact, suffixes, prefixes, defaultHost);
    }

    public VirtualHost? Find(ReadOnlySpan<byte> authority)
    {
        var host = FindSpecific(authority);
        if (host is not null)
        {
            return host;
        }

        if (_default is not null)
        {
            return _default;
        }

        var portStart = PortStart(authority);
        return portStart < 0 ? null : FindSpecific(authority[..portStart]);
    }

    /// <summary>Index of the ':' that starts a numeric port, or -1; understands <c>[v6]:port</c>.</summary>
    internal static int PortStart(ReadOnlySpan<byte> authority)
    {
        var colon = authority.LastIndexOf((byte)':');
        if (colon < 0 || colon == authority.Length - 1)
        {
            return -1;
        }

        if (authority[0] == '[' && authority[colon - 1] != ']')
        {
            return -1;
        }

        foreach (var b in authority[(colon + 1)..])
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return -1;
            }
        }

        return colon;
    }

    private VirtualHost? FindSpecific(ReadOnlySpan<byte> authority)
    {
        if (_exact.TryGetValue(authority, out var host))
        {
            return host;
        }

        // Wildcards never match the empty string, so the key must be strictly shorter.
        foreach (var length in _suffixLengths)
        {
            if (length < authority.Length && _suffixes.TryGetValue(authority[^length..], out host))
            {
                return host;
            }
        }

        foreach (var length in _prefixLengths)
        {
            if (length < authority.Length && _prefixes.TryGetValue(authority[..length], out host))
            {
                return host;
            }
        }

        return null;
    }

    private static int[] LengthsLongestFirst(Dictionary<byte[], VirtualHost> keys)
    {
        var lengths = new SortedSet<int>();
        foreach (var key in keys.Keys)
        {
            lengths.Add(key.Length);
        }

        var result = new int[lengths.Count];
        var i = result.Length;
        foreach (var length in lengths)
        {
            result[--i] = length;
        }

        return result;
    }
}
