namespace Herald.Proxy.Observability.Stats;

/// <summary>A monotonically increasing count.</summary>
internal sealed class Counter(StatKey key)
{
    private long _value;

    public StatKey Key { get; } = key;

    public long Value => Volatile.Read(ref _value);

    public void Increment() => Interlocked.Increment(ref _value);

    public void Add(long amount) => Interlocked.Add(ref _value, amount);
}
