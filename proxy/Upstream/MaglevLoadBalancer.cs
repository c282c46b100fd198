using System.Collections.Immutable;
using System.Text;
using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Maglev consistent hashing: a lookup table of prime size filled by each endpoint walking
/// its own permutation of the slots (offset and skip from two hashes of its address) and
/// taking the next free slot in turn. Heavier endpoints take turns more often. Tables stay
/// balanced, and removing an endpoint moves few keys besides its own.
/// </summary>
internal sealed class MaglevLoadBalancer : ILoadBalancer
{
    private readonly UpstreamEndpoint[] _table;
    private readonly UpstreamEndpoint[] _hosts;
    private readonly Random _random;

    public MaglevLoadBalancer(ImmutableArray<UpstreamEndpoint> hosts, int tableSize, Random? random = null)
    {
        if (tableSize < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(tableSize), tableSize, "Maglev needs a prime table size");
        }

        _hosts = [.. hosts];
        _random = random ?? Random.Shared;
        _table = Build(_hosts, tableSize);
    }

    public int TableSize => _table.Length;

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        if (_hosts.Length == 0)
        {
            return null;
        }

        if (context.Hash is not { } hash)
        {
            return _hosts[_random.Next(_hosts.Length)];
        }

        return _table[(int)(hash % (ulong)_table.Length)];
    }

    private static UpstreamEndpoint[] Build(UpstreamEndpoint[] hosts, int size)
    {
        if (hosts.Length == 0)
        {
            return [];
        }

        var position = new long[hosts.Length];
        var skip = new long[hosts.Length];
        var credit = new double[hosts.Length];
        var share = new double[hosts.Length];
        uint heaviest = 0;
        foreach (var host in hosts)
        {
            heaviest = Math.Max(heaviest, host.Weight);
        }

        Span<byte> key = stackalloc byte[256];
        for (var h = 0; h < hosts.Length; h++)
        {
            var length = Encoding.UTF8.GetBytes(hosts[h].AddressText, key);
            position[h] = (long)(XxHash64.Hash(key[..length], seed: 0) % (ulong)size);
            skip[h] = (long)(XxHash64.Hash(key[..length], seed: 1) % (ulong)(size - 1)) + 1;
            share[h] = (double)hosts[h].Weight / heaviest;
        }

        var owner = new int[size];
        Array.Fill(owner, -1);
        var filled = 0;
        while (filled < size)
        {
            for (var h = 0; h < hosts.Length && filled < size; h++)
            {
                // The heaviest endpoint takes a slot every round, the others in proportion.
                credit[h] += share[h];
                if (credit[h] < 1)
                {
                    continue;
                }

                credit[h] -= 1;
                while (owner[position[h]] >= 0)
                {
                    position[h] = (position[h] + skip[h]) % size;
                }

                owner[position[h]] = h;
                position[h] = (position[h] + skip[h]) % size;
                filled++;
            }
        }

        var table = new UpstreamEndpoint[size];
        for (var i = 0; i < size; i++)
        {
            table[i] = hosts[owner[i]];
        }

        return table;
    }
}
