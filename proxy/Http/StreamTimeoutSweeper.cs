using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Herald.Proxy.Http;

/// <summary>
/// One timer for every stream timer of a <see cref="TimeProvider"/>: it wakes when the earliest
/// armed guard falls due, expires what has run out and sleeps until the next due time. Arming a
/// guard touches the timer only when that guard falls due before the next wake-up (rare with
/// Envoy's five-minute default, since later streams fall due later), so the request path takes
/// no lock and changes no timer. Guards are pooled: renting and returning allocate nothing in
/// steady state, and at most <see cref="MaxPooled"/> idle guards are kept.
/// </summary>
internal sealed class StreamTimeoutSweeper
{
    /// <summary>Idle guards kept for reuse; beyond that, returned guards are dropped.</summary>
    public const int MaxPooled = 4096;

    private static readonly ConditionalWeakTable<TimeProvider, StreamTimeoutSweeper> Sweepers = new();

    private readonly Lock _lock = new();
    private readonly List<StreamTimeoutGuard> _guards = [];
    private readonly ConcurrentQueue<StreamTimeoutGuard> _pool = new();
    private readonly ITimer _timer;
    private long _nextSweep = long.MaxValue;

    private StreamTimeoutSweeper(TimeProvider time)
    {
        Time = time;
        _timer = time.CreateTimer(static s => ((StreamTimeoutSweeper)s!).Sweep(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeProvider Time { get; }

    /// <summary>
    /// The usual expiry: cancel the <see cref="CancellationTokenSource"/> given as state. It runs on
    /// the sweeper's thread, so the wait it bounded may just have ended and disposed the source.
    /// </summary>
    public static Action<object?> CancelSource { get; } = static state =>
    {
        try
        {
            ((CancellationTokenSource?)state)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The wait it bounded is over.
        }
    };

    /// <summary>Guards alive (armed or pooled); for tests.</summary>
    internal int GuardCount
    {
        get
        {
            lock (_lock)
            {
                return _guards.Count;
            }
        }
    }

    /// <summary>The sweeper of this clock (one per <see cref="TimeProvider"/>, so virtual time drives it in tests).</summary>
    public static StreamTimeoutSweeper For(TimeProvider time) => Sweepers.GetValue(time, static t => new StreamTimeoutSweeper(t));

    /// <summary>A disarmed guard whose expiry runs <paramref name="onExpired"/> with <paramref name="state"/>.</summary>
    public StreamTimeoutGuard Rent(Action<object?> onExpired, object? state)
    {
        if (!_pool.TryDequeue(out var guard))
        {
            guard = new StreamTimeoutGuard(this);
            lock (_lock)
            {
                _guards.Add(guard);
            }
        }

        guard.SetCallback(onExpired, state);
        return guard;
    }

    /// <summary>
    /// Takes a guard back; it is disarmed first, and must not be used by the caller again. True
    /// when a bound had fired before: its callback may still be running or about to run.
    /// </summary>
    public bool Return(StreamTimeoutGuard guard)
    {
        var expired = guard.Stop();
        guard.SetCallback(static _ => { }, null);
        if (_pool.Count < MaxPooled)
        {
            _pool.Enqueue(guard);
            return expired;
        }

        lock (_lock)
        {
            _guards.Remove(guard);
        }

        return expired;
    }

    /// <summary>Makes sure a sweep happens no later than <paramref name="due"/> (a timestamp).</summary>
    internal void EnsureSweepBy(long due)
    {
        if (Volatile.Read(ref _nextSweep) <= due)
        {
            return;
        }

        lock (_lock)
        {
            if (_nextSweep <= due)
            {
                return;
            }

            _nextSweep = due;
            _timer.Change(DelayUntil(due), Timeout.InfiniteTimeSpan);
        }
    }

    internal long ToTimestampTicks(TimeSpan span)
    {
        var ticks = span.TotalSeconds * Time.TimestampFrequency;
        return ticks >= long.MaxValue / 4 ? long.MaxValue / 4 : (long)ticks;
    }

    private void Sweep()
    {
        List<(Action<object?> Callback, object? State)>? expired = null;
        lock (_lock)
        {
            // Seen as "no sweep planned" by a guard arming meanwhile: it then waits for this lock
            // and plans its own sweep if this one missed it (the exchange is the fence that
            // pairs with the one in StreamTimeoutGuard.Start).
            Interlocked.Exchange(ref _nextSweep, long.MaxValue);
            var now = Time.GetTimestamp();
            var next = long.MaxValue;
            foreach (var guard in _guards)
            {
                if (guard.TrySweep(now, out var due, out var callback, out var state))
                {
                    (expired ??= []).Add((callback!, state));
                }
                else if (due < next)
                {
                    next = due;
                }
            }

            _nextSweep = next;
            _timer.Change(next == long.MaxValue ? Timeout.InfiniteTimeSpan : DelayUntil(next), Timeout.InfiniteTimeSpan);
        }

        // Outside the lock: the callbacks cancel reads and tokens, whose continuations may arm guards.
        if (expired is not null)
        {
            foreach (var (callback, state) in expired)
            {
                callback(state);
            }
        }
    }

    private TimeSpan DelayUntil(long due)
    {
        var now = Time.GetTimestamp();
        if (due <= now)
        {
            return TimeSpan.FromTicks(1);
        }

        // Waking a hair early is harmless: the sweep finds nothing due yet and plans again.
        return TimeSpan.FromSeconds((double)(due - now) / Time.TimestampFrequency);
    }
}
