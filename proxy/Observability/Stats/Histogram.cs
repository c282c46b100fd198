namespace Herald.Proxy.Observability.Stats;

/// <summary>
/// A latency histogram in milliseconds with Envoy's default bucket bounds; lock-free.
/// </summary>
internal sealed class Histogram(StatKey key)
{
    /// <summary>Envoy's default histogram bucket upper bounds (ms).</summary>
    public static readonly double[] BucketBounds =
        [0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000];

    private readonly long[] _buckets = new long[BucketBounds.Length + 1];
    private long _count;
    private long _sumMicros;

    public StatKey Key { get; } = key;

    public long Count => Volatile.Read(ref _count);

    public double SumMilliseconds => Volatile.Read(ref _sumMicros) / 1000.0;

    public void Record(double milliseconds)
    {
        var index = BucketBounds.Length;
        for (var i = 0; i < BucketBounds.Length; i++)
        {
            if (milliseconds <= BucketBounds[i])
            {
                index = i;
                break;
            }
        }

        Interlocked.Increment(ref _buckets[index]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicros, (long)(milliseconds * 1000));
    }

    public void Record(TimeSpan elapsed) => Record(elapsed.TotalMilliseconds);

    /// <summary>Cumulative counts per bound, the last entry being +Inf.</summary>
    public long[] CumulativeCounts()
    {
        var result = new long[_buckets.Length];
        long running = 0;
        for (var i = 0; i < _buckets.Length; i++)
        {
            running += Volatile.Read(ref _buckets[i]);
            result[i] = running;
        }

        return result;
    }

    /// <summary>Approximate quantile (0..1) by linear interpolation within the bucket.</summary>
    public double Quantile(double q)
    {
        var counts = CumulativeCounts();
        var total = counts[^1];
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = q * total;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] >= rank)
            {
                var lower = i == 0 ? 0 : BucketBounds[i - 1];
                var upper = i < BucketBounds.Length ? BucketBounds[i] : BucketBounds[^1] * 2;
                var below = i == 0 ? 0 : counts[i - 1];
                var inBucket = counts[i] - below;
                return inBucket == 0 ? upper : lower + ((upper - lower) * (rank - below) / inBucket);
            }
        }

        return BucketBounds[^1];
    }
}
