using System.Collections.Immutable;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Weighted round robin. The order is computed once per endpoint set as a schedule of one
/// full cycle (earliest deadline first, so heavy hosts are spread out rather than bunched);
/// a pick is one atomic increment and an array read, lock-free and deterministic.
/// </summary>
internal sealed class RoundRobinLoadBalancer : ILoadBalancer
{
    /// <summary>Longest schedule kept; beyond it weights are scaled down proportionally.</summary>
    internal const int MaxScheduleLength = 65536;

    private readonly UpstreamEndpoint[] _schedule;
    private long _next = -1;

    public RoundRobinLoadBalancer(ImmutableArray<UpstreamEndpoint> hosts)
    {
        _schedule = BuildSchedule(hosts);
    }

    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        var schedule = _schedule;
        if (schedule.Length == 0)
        {
            return null;
        }

        var turn = (ulong)Interlocked.Increment(ref _next);
        return schedule[(int)(turn % (ulong)schedule.Length)];
    }

    private static UpstreamEndpoint[] BuildSchedule(ImmutableArray<UpstreamEndpoint> hosts)
    {
        if (hosts.IsDefaultOrEmpty)
        {
            return [];
        }

        var weights = new long[hosts.Length];
        long divisor = 0;
        for (var i = 0; i < hosts.Length; i++)
        {
            weights[i] = hosts[i].Weight;
            divisor = Gcd(divisor, weights[i]);
        }

        long total = 0;
        for (var i = 0; i < weights.Length; i++)
        {
            weights[i] /= divisor;
            total += weights[i];
        }

        if (total > Math.Max(MaxScheduleLength, hosts.Length))
        {
            var scale = (double)MaxScheduleLength / total;
            total = 0;
            for (var i = 0; i < weights.Length; i++)
            {
                weights[i] = Math.Max(1, (long)Math.Round(weights[i] * scale));
                total += weights[i];
            }
        }

        // Each host's k-th turn is due at (k + 0.5) / weight; ties go to the lower index.
        var queue = new PriorityQueue<int, (double Deadline, int Index)>(hosts.Length);
        for (var i = 0; i < hosts.Length; i++)
        {
            queue.Enqueue(i, (0.5 / weights[i], i));
        }

        var schedule = new UpstreamEndpoint[total];
        for (var slot = 0; slot < schedule.Length; slot++)
        {
            queue.TryDequeue(out var host, out var due);
            schedule[slot] = hosts[host];
            queue.Enqueue(host, (due.Deadline + (1.0 / weights[host]), host));
        }

        return schedule;
    }

    private static long Gcd(long a, long b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }
}
