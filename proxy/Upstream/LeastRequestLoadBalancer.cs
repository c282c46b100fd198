using System.Collections.Immutable;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Power of N choices: draw <c>choice_count</c> endpoints (weighted, with replacement) and
/// keep the one with the most weight per active request, which with equal weights is the
/// one with the fewest active requests. When N covers the whole set, every endpoint is
/// compared, starting at a random one so that ties spread out.
/// </summary>
internal sealed class LeastRequestLoadBalancer : ILoadBalancer
{
    private readonly WeightedSelector _selector;
    private readonly int _choiceCount;
    private readonly Random _random;

    /// <param name="random">Must be thread-safe when picks run concurrently (the default, <see cref="Random.Shared"/>, is).</param>
    public LeastRequestLoadBalancer(ImmutableArray<UpstreamEndpoint> hosts, int choiceCount, Random? random = null)
    {
        _selector = new WeightedSelector(hosts);
        _choiceCount = Math.Max(2, choiceCount);
        _random = random ?? Random.Shared;
    }

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        var count = _selector.Count;
        if (count == 0)
        {
            return null;
        }

        if (count == 1)
        {
            return _selector[0];
        }

        UpstreamEndpoint best;
        if (_choiceCount >= count)
        {
            var start = _random.Next(count);
            best = _selector[start];
            for (var i = 1; i < count; i++)
            {
                var candidate = _selector[(start + i) % count];
                if (IsBetter(candidate, best))
                {
                    best = candidate;
                }
            }

            return best;
        }

        best = _selector.Next(_random);
        for (var i = 1; i < _choiceCount; i++)
        {
            var candidate = _selector.Next(_random);
            if (IsBetter(candidate, best))
            {
                best = candidate;
            }
        }

        return best;
    }

    // weight(a) / (active(a) + 1) > weight(b) / (active(b) + 1), in integers.
    private static bool IsBetter(UpstreamEndpoint a, UpstreamEndpoint b)
    {
        var activeA = (ulong)Math.Max(0, a.ActiveRequests) + 1;
        var activeB = (ulong)Math.Max(0, b.ActiveRequests) + 1;
        return (ulong)a.Weight * activeB > (ulong)b.Weight * activeA;
    }
}
