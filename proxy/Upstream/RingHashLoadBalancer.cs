using System.Collections.Immutable;
using System.Text;
using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Consistent hashing on a ring (ketama style). Each endpoint owns ring points in proportion
/// to its weight; point k of an endpoint is xxHash64 of "ADDRESS_k". A request goes to the
/// first point at or after its hash, wrapping around, so removing an endpoint only moves the
/// keys it owned.
/// </summary>
internal sealed class RingHashLoadBalancer : ILoadBalancer
{
    private readonly ulong[] _hashes;
    private readonly UpstreamEndpoint[] _owners;
    private readonly UpstreamEndpoint[] _hosts;
    private readonly Random _random;

    public RingHashLoadBalancer(ImmutableArray<UpstreamEndpoint> hosts, ulong minimumRingSize, ulong maximumRingSize, Random? random = null)
    {
        _hosts = [.. hosts];
        _random = random ?? Random.Shared;
        (_hashes, _owners) = Build(_hosts, Math.Max(1, minimumRingSize), Math.Max(1, maximumRingSize));
    }

    /// <summary>Number of points on the ring.</summary>
    public int RingSize => _hashes.Length;

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        if (_hashes.Length == 0)
        {
            return null;
        }

        if (context.Hash is not { } hash)
        {
            return _hosts[_random.Next(_hosts.Length)];
        }

        var index = Array.BinarySearch(_hashes, hash);
        if (index < 0)
        {
            index = ~index;
            if (index == _hashes.Length)
            {
                index = 0;
            }
        }

        return _owners[index];
    }

    private static (ulong[] Hashes, UpstreamEndpoint[] Owners) Build(UpstreamEndpoint[] hosts, ulong minimumSize, ulong maximumSize)
    {
        if (hosts.Length == 0)
        {
            return ([], []);
        }

        double totalWeight = 0;
        double lightest = double.MaxValue;
        foreach (var host in hosts)
        {
            totalWeight += host.Weight;
            lightest = Math.Min(lightest, host.Weight);
        }

        // Points per unit of the lightest weight: enough to reach the minimum ring size, rounded
        // up to a power of two so that adding or removing a host rarely changes the others'
        // point counts (their keys then stay put). Beyond the maximum, scale down.
        var needed = Math.Max(1.0, Math.Ceiling(minimumSize * lightest / totalWeight));
        var perLightest = Math.Pow(2, Math.Ceiling(Math.Log2(needed)));
        var total = perLightest * totalWeight / lightest;
        var scale = total > maximumSize ? maximumSize / total : 1.0;
        var perWeight = perLightest * scale / lightest;

        var points = new List<(ulong Hash, int Host)>((int)Math.Min((total * scale) + hosts.Length, int.MaxValue));
        Span<byte> key = stackalloc byte[256];
        for (var h = 0; h < hosts.Length; h++)
        {
            var count = Math.Max(1L, (long)Math.Round(perWeight * hosts[h].Weight));
            var prefixLength = Encoding.UTF8.GetBytes(hosts[h].AddressText, key);
            key[prefixLength++] = (byte)'_';
            for (long k = 0; k < count; k++)
            {
                k.TryFormat(key[prefixLength..], out var digits, provider: System.Globalization.CultureInfo.InvariantCulture);
                points.Add((XxHash64.Hash(key[..(prefixLength + digits)]), h));
            }
        }

        // Equal hashes (vanishingly rare) are ordered by endpoint so the ring is deterministic.
        points.Sort();
        var hashes = new ulong[points.Count];
        var owners = new UpstreamEndpoint[points.Count];
        for (var i = 0; i < points.Count; i++)
        {
            hashes[i] = points[i].Hash;
            owners[i] = hosts[points[i].Host];
        }

        return (hashes, owners);
    }
}
