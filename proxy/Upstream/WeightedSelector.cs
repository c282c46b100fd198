using System.Collections.Immutable;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Draws an endpoint with probability proportional to its weight: a uniform draw over the
/// total weight, found by binary search in the running sums. Immutable, so thread-safe.
/// </summary>
internal sealed class WeightedSelector
{
    private readonly UpstreamEndpoint[] _hosts;
    private readonly long[] _cumulative;
    private readonly long _total;
    private readonly bool _uniform;

    public WeightedSelector(ImmutableArray<UpstreamEndpoint> hosts)
    {
        _hosts = [.. hosts];
        _cumulative = new long[_hosts.Length];
        _uniform = true;
        long sum = 0;
        for (var i = 0; i < _hosts.Length; i++)
        {
            sum += _hosts[i].Weight;
            _cumulative[i] = sum;
            _uniform &= _hosts[i].Weight == _hosts[0].Weight;
        }

        _total = sum;
    }

    public int Count => _hosts.Length;

    public UpstreamEndpoint this[int index] => _hosts[index];

    /// <summary>A weighted draw; the set must not be empty.</summary>
    public UpstreamEndpoint Next(Random random)
    {
        if (_uniform)
        {
            return _hosts[random.Next(_hosts.Length)];
        }

        var draw = random.NextInt64(_total);

        // First running sum greater than the draw.
        int low = 0, high = _cumulative.Length - 1;
        while (low < high)
        {
            var mid = (low + high) >>> 1;
            if (_cumulative[mid] > draw)
            {
                high = mid;
            }
            else
            {
                low = mid + 1;
            }
        }

        return _hosts[low];
    }
}
