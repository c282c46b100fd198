namespace Herald.Proxy.Observability.Stats;

/// <summary>A value that goes up and down.</summary>
internal sealed class Gauge(StatKey key)
{
    private long _value;

    public StatKey Key { get; } = key;

    public long Value => Volatile.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Decrement() => Interlocked.Decrement(ref _value);

    public void Add(long amount) => Interlocked.Add(ref _value, amount);

    public void Set(long value) => Volatile.Write(ref _value, value);
}
