using System.Collections.Concurrent;

namespace Herald.Proxy.Observability.Stats;

/// <summary>
/// All stats of the process, by flat name. Creating a stat is for configuration time;
/// the request path only touches the returned objects.
/// </summary>
internal sealed class StatsStore
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Gauge> _gauges = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Histogram> _histograms = new(StringComparer.Ordinal);

    public Counter Counter(StatKey key) => _counters.GetOrAdd(key.FlatName, static (_, k) => new Counter(k), key);

    public Gauge Gauge(StatKey key) => _gauges.GetOrAdd(key.FlatName, static (_, k) => new Gauge(k), key);

    public Histogram Histogram(StatKey key) => _histograms.GetOrAdd(key.FlatName, static (_, k) => new Histogram(k), key);

    public IEnumerable<Counter> Counters => _counters.Values;

    public IEnumerable<Gauge> Gauges => _gauges.Values;

    public IEnumerable<Histogram> Histograms => _histograms.Values;
}
