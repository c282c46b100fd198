using System.Globalization;
using Herald.Proxy.Observability;

namespace Herald.Proxy.Activation;

/// <summary>
/// Holds a cluster's requests while it has no endpoint (scale from zero) or while every
/// endpoint is at its concurrency limit, and releases them in arrival order as capacity
/// appears; an explicit state machine in the manner of Linkerd's failfast gate.
/// <para>
/// Capacity is endpoints × <see cref="ActivationPolicy.EndpointConcurrency"/> (unlimited when
/// that is 0 and there is an endpoint; 0 without endpoints). A request is admitted at once
/// when nobody waits and fewer than capacity leases are out; otherwise it is held in a FIFO
/// queue, bounded by <see cref="ActivationPolicy.QueueDepth"/> and, per request, by
/// <see cref="ActivationPolicy.HoldTimeout"/>.
/// </para>
/// <code>
/// state      event                                        next       effect
/// Idle       acquire, nobody waits, slot free             Idle       Admitted at once (lock-free)
/// Idle       acquire, no endpoint                         Holding    held; demand signalled
/// Idle       acquire, endpoints, all slots taken          Releasing  held
/// Holding    acquire                                      Holding    held (no new signal), or Overflow at depth
/// Holding    SetEndpointCount(&gt;0)                         Releasing  waiters admitted in order up to capacity;
///                                                                    Idle once the queue is empty
/// Holding    a waiter's hold timeout                      Failfast   every waiter gets Timeout
/// Holding    last waiter cancelled                        Idle       (the next hold signals again)
/// Releasing  acquire                                      Releasing  held behind the others, or Overflow at depth
/// Releasing  lease disposed / capacity grows              Releasing  next waiters admitted; Idle once empty
/// Releasing  a waiter's hold timeout                      Releasing  that waiter gets Timeout (saturated, not cold)
/// Releasing  SetEndpointCount(0)                          Holding    demand signalled (the cluster went cold under load)
/// Failfast   acquire                                      Failfast   Failfast at once; demand re-signalled at most
///                                                                    once per HoldTimeout
/// Failfast   SetEndpointCount(&gt;0)                         Idle       requests admitted again
/// any        Dispose                                      Failfast   every waiter gets Failfast; later acquires too
/// </code>
/// A cancelled caller is removed from the queue at once and gets
/// <see cref="ActivationOutcome.Cancelled"/> (no exception: the caller just stops). Leases in
/// flight when the endpoint count drops (even to 0) finish normally; only new requests wait.
/// Waiters are completed outside the lock and their continuations never run inline.
/// </summary>
internal sealed class ActivationGate : IDisposable
{
    private const long OneWaiter = 1L << 32;

    private static readonly TimerCallback OnTimeoutCallback = static state =>
    {
        var waiter = (Waiter)state!;
        waiter.Gate.OnTimeout(waiter);
    };

    private static readonly Action<object?> OnCancelledCallback = static state =>
    {
        var waiter = (Waiter)state!;
        waiter.Gate.OnCancelled(waiter);
    };

    private readonly Lock _lock = new();
    private readonly string _clusterName;
    private readonly ActivationPolicy _policy;
    private readonly ActivationStats _stats;
    private readonly IDemandSignal _signal;
    private readonly TimeProvider _time;
    private readonly string _overflowText;
    private readonly string _timeoutText;
    private readonly string _failfastText;
    private readonly string _removedText;

    // Low 32 bits: leases out; high 32 bits: waiters queued. One word, so that "nobody waits
    // and a slot is free" is decided in the same atomic step that takes the slot, and a
    // release always sees a waiter that could not take its slot (no lost wake-up). The waiter
    // half changes only under _lock.
    private long _word;

    // Written under _lock, read by the lock-free fast path.
    private int _capacity;

    // The rest is guarded by _lock.
    private int _endpoints;
    private bool _failfast;
    private bool _disposed;
    private Waiter? _head;
    private Waiter? _tail;
    private long _coldSince;
    private long _lastSignalAt;
    private int _refusedSinceSignal;

    public ActivationGate(string clusterName, ActivationPolicy policy, ActivationStats stats, IDemandSignal signal, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrEmpty(clusterName);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(signal);
        ArgumentNullException.ThrowIfNull(time);
        policy.Validate();
        _clusterName = clusterName;
        _policy = policy;
        _stats = stats;
        _signal = signal;
        _time = time;

        // Built once, so a storm of 503s allocates no text.
        var hold = FormatDuration(policy.HoldTimeout);
        _overflowText = $"activation queue full: {policy.QueueDepth} requests held for cluster {clusterName}";
        _timeoutText = $"no endpoint of cluster {clusterName} could take the request within the activation hold timeout ({hold})";
        _failfastText = $"cluster {clusterName} has no endpoints: held requests timed out after {hold}, failing fast until an endpoint appears";
        _removedText = $"cluster {clusterName} was removed while the request was held for activation";
    }

    public string ClusterName => _clusterName;

    public ActivationPolicy Policy => _policy;

    public ActivationState State
    {
        get
        {
            lock (_lock)
            {
                if (_failfast || _disposed)
                {
                    return ActivationState.Failfast;
                }

                if (_head is null)
                {
                    return ActivationState.Idle;
                }

                return _endpoints == 0 ? ActivationState.Holding : ActivationState.Releasing;
            }
        }
    }

    /// <summary>Requests held right now.</summary>
    public int Held => (int)(Volatile.Read(ref _word) >> 32);

    /// <summary>Leases out right now (admitted, not yet disposed).</summary>
    public int InFlight => (int)Volatile.Read(ref _word);

    /// <summary>Endpoints as last set.</summary>
    public int Endpoints
    {
        get
        {
            lock (_lock)
            {
                return _endpoints;
            }
        }
    }

    /// <summary>Human text for a 503 body: why the request was refused, without naming the cluster.</summary>
    public static string Reason(ActivationOutcome outcome) => outcome switch
    {
        ActivationOutcome.Admitted => "admitted",
        ActivationOutcome.Overflow => "activation queue full: too many requests are already held for this cluster",
        ActivationOutcome.Timeout => "no endpoint could take the request within the activation hold timeout",
        ActivationOutcome.Failfast => "the cluster has no endpoints and is failing fast after an activation hold timed out",
        ActivationOutcome.Cancelled => "the request was cancelled while held for activation",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    /// <summary>Like <see cref="Reason"/>, naming the cluster and the limit that was hit; allocates nothing.</summary>
    public string Explain(ActivationOutcome outcome) => outcome switch
    {
        ActivationOutcome.Overflow => _overflowText,
        ActivationOutcome.Timeout => _timeoutText,
        ActivationOutcome.Failfast => Volatile.Read(ref _disposed) ? _removedText : _failfastText,
        _ => Reason(outcome),
    };

    /// <summary>
    /// Sets the number of endpoints (call on every change, and once at start). More capacity
    /// admits waiters in order; a cold cluster that gets an endpoint leaves Failfast.
    /// </summary>
    public void SetEndpointCount(int endpoints)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(endpoints);
        Waiter? released = null;
        DemandNotice? notice = null;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var before = _endpoints;
            _endpoints = endpoints;
            Volatile.Write(ref _capacity, CapacityFor(endpoints));
            if (endpoints > 0)
            {
                _failfast = false;
                released = DrainLocked();
            }
            else if (before > 0 && _head is not null)
            {
                // Releasing -> Holding: the cluster went cold with requests held.
                var now = _time.GetTimestamp();
                _coldSince = now;
                notice = HoldingNoticeLocked(now);
            }

            UpdateHeldGaugeLocked();
        }

        Complete(released);
        Raise(notice);
    }

    /// <summary>
    /// Waits for a slot. Never throws for the request's sake: the outcome says what happened
    /// (a cancelled caller gets <see cref="ActivationOutcome.Cancelled"/>). When a slot is free
    /// and nobody waits, returns a completed <see cref="ValueTask{TResult}"/> without allocating.
    /// </summary>
    public ValueTask<ActivationLease> AcquireAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return new ValueTask<ActivationLease>(new ActivationLease(null, ActivationOutcome.Cancelled));
        }

        var word = Volatile.Read(ref _word);
        while ((word >> 32) == 0 && (int)word < Volatile.Read(ref _capacity))
        {
            var seen = Interlocked.CompareExchange(ref _word, word + 1, word);
            if (seen == word)
            {
                return new ValueTask<ActivationLease>(new ActivationLease(this, ActivationOutcome.Admitted));
            }

            word = seen;
        }

        return AcquireSlow(cancellationToken);
    }

    /// <summary>Fails every waiter with <see cref="ActivationOutcome.Failfast"/> (so clients get a 503, not silence); later acquires fail fast too.</summary>
    public void Dispose()
    {
        Waiter? failed = null;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _disposed, true);
            Volatile.Write(ref _capacity, 0);
            Waiter? last = null;
            while (_head is { } waiter)
            {
                RemoveLocked(waiter);
                Interlocked.Add(ref _word, -OneWaiter);
                waiter.Outcome = ActivationOutcome.Failfast;
                _stats.Failfast.Increment();
                Append(ref failed, ref last, waiter);
            }

            UpdateHeldGaugeLocked();
        }

        Complete(failed);
    }

    /// <summary>Frees one slot (a lease's Dispose) and admits the next waiter if there is one.</summary>
    internal void Release()
    {
        var word = Volatile.Read(ref _word);
        while (true)
        {
            if ((int)word <= 0)
            {
                // More releases than admissions (a lease disposed twice): never borrow from the waiter half.
                return;
            }

            var seen = Interlocked.CompareExchange(ref _word, word - 1, word);
            if (seen == word)
            {
                break;
            }

            word = seen;
        }

        if ((word >> 32) == 0)
        {
            return;
        }

        Waiter? released;
        lock (_lock)
        {
            released = DrainLocked();
            UpdateHeldGaugeLocked();
        }

        Complete(released);
    }

    private static void Append(ref Waiter? first, ref Waiter? last, Waiter waiter)
    {
        waiter.Next = null;
        if (last is null)
        {
            first = waiter;
        }
        else
        {
            last.Next = waiter;
        }

        last = waiter;
    }

    // Outside the lock: completion queues each continuation (RunContinuationsAsynchronously).
    private static void Complete(Waiter? first)
    {
        while (first is { } waiter)
        {
            first = waiter.Next;
            waiter.Next = null;
            waiter.TrySetResult(waiter.Outcome);
        }
    }

    private static string FormatDuration(TimeSpan duration) =>
        duration.TotalSeconds >= 1
            ? duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s"
            : duration.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + " ms";

    private int CapacityFor(int endpoints)
    {
        if (endpoints == 0)
        {
            return 0;
        }

        if (_policy.EndpointConcurrency == 0)
        {
            return int.MaxValue;
        }

        return (int)Math.Min(int.MaxValue, (long)endpoints * _policy.EndpointConcurrency);
    }

    private ValueTask<ActivationLease> AcquireSlow(CancellationToken cancellationToken)
    {
        Waiter? waiter = null;
        DemandNotice? notice = null;
        ActivationOutcome outcome;
        lock (_lock)
        {
            outcome = DecideLocked(ref waiter, ref notice);
        }

        Raise(notice);
        if (waiter is null)
        {
            return new ValueTask<ActivationLease>(new ActivationLease(outcome == ActivationOutcome.Admitted ? this : null, outcome));
        }

        return new ValueTask<ActivationLease>(WaitAsync(waiter, cancellationToken));
    }

    // The outcome, or (when waiter is set) a held request whose outcome its waiter will carry.
    private ActivationOutcome DecideLocked(ref Waiter? waiter, ref DemandNotice? notice)
    {
        if (_disposed)
        {
            _stats.Failfast.Increment();
            return ActivationOutcome.Failfast;
        }

        if (_failfast)
        {
            _stats.Failfast.Increment();
            notice = FailfastNoticeLocked();
            return ActivationOutcome.Failfast;
        }

        // Only the fast path and releases race with us here, and they touch the lease half only.
        var word = Volatile.Read(ref _word);
        while (true)
        {
            var waiters = (int)(word >> 32);
            long seen;
            if (waiters == 0 && (int)word < _capacity)
            {
                seen = Interlocked.CompareExchange(ref _word, word + 1, word);
                if (seen == word)
                {
                    return ActivationOutcome.Admitted;
                }
            }
            else if (waiters >= _policy.QueueDepth)
            {
                _stats.Overflow.Increment();
                return ActivationOutcome.Overflow;
            }
            else
            {
                seen = Interlocked.CompareExchange(ref _word, word + OneWaiter, word);
                if (seen == word)
                {
                    waiter = EnqueueLocked(waiters == 0, ref notice);
                    return ActivationOutcome.Admitted;
                }
            }

            word = seen;
        }
    }

    private Waiter EnqueueLocked(bool queueWasEmpty, ref DemandNotice? notice)
    {
        var now = _time.GetTimestamp();
        var waiter = new Waiter(this, now);
        waiter.Timer = _time.CreateTimer(OnTimeoutCallback, waiter, _policy.HoldTimeout, Timeout.InfiniteTimeSpan);
        waiter.Queued = true;
        waiter.Prev = _tail;
        if (_tail is null)
        {
            _head = waiter;
        }
        else
        {
            _tail.Next = waiter;
        }

        _tail = waiter;
        if (queueWasEmpty && _endpoints == 0)
        {
            // Idle -> Holding: the transition from zero the autoscaler must hear about.
            _coldSince = now;
            notice = HoldingNoticeLocked(now);
        }

        UpdateHeldGaugeLocked();
        return waiter;
    }

    private async Task<ActivationLease> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        var registration = cancellationToken.UnsafeRegister(OnCancelledCallback, waiter);
        try
        {
            var outcome = await waiter.Task.ConfigureAwait(false);
            return new ActivationLease(outcome == ActivationOutcome.Admitted ? this : null, outcome);
        }
        finally
        {
            // Unregister, not Dispose: never wait here for a callback that is running.
            registration.Unregister();
            waiter.Timer?.Dispose();
        }
    }

    private void OnCancelled(Waiter waiter)
    {
        lock (_lock)
        {
            if (!waiter.Queued)
            {
                return;
            }

            RemoveLocked(waiter);
            Interlocked.Add(ref _word, -OneWaiter);
            UpdateHeldGaugeLocked();
        }

        waiter.TrySetResult(ActivationOutcome.Cancelled);
    }

    private void OnTimeout(Waiter waiter)
    {
        Waiter? timedOut = null;
        lock (_lock)
        {
            if (!waiter.Queued)
            {
                return;
            }

            var now = _time.GetTimestamp();
            Waiter? last = null;
            TimeOutLocked(waiter, now, ref timedOut, ref last);
            if (_endpoints == 0)
            {
                // Holding -> Failfast: the cluster did not come up in time, so nobody else will
                // be served either; fail them all now rather than one timer at a time.
                _failfast = true;
                _refusedSinceSignal = 0;
                while (_head is { } other)
                {
                    TimeOutLocked(other, now, ref timedOut, ref last);
                }
            }

            UpdateHeldGaugeLocked();
        }

        Complete(timedOut);
    }

    private void TimeOutLocked(Waiter waiter, long now, ref Waiter? first, ref Waiter? last)
    {
        RemoveLocked(waiter);
        Interlocked.Add(ref _word, -OneWaiter);
        waiter.Outcome = ActivationOutcome.Timeout;
        _stats.Timeout.Increment();
        _stats.HoldTime.Record(_time.GetElapsedTime(waiter.EnqueuedAt, now));
        Append(ref first, ref last, waiter);
    }

    // Admits waiters from the head while slots are free; returns them chained, to complete outside the lock.
    private Waiter? DrainLocked()
    {
        Waiter? first = null;
        Waiter? last = null;
        long now = 0;
        while (_head is { } head)
        {
            var word = Volatile.Read(ref _word);
            if ((int)word >= _capacity)
            {
                break;
            }

            if (Interlocked.CompareExchange(ref _word, word - OneWaiter + 1, word) != word)
            {
                continue;
            }

            if (now == 0)
            {
                now = _time.GetTimestamp();
            }

            RemoveLocked(head);
            head.Outcome = ActivationOutcome.Admitted;
            _stats.Released.Increment();
            _stats.HoldTime.Record(_time.GetElapsedTime(head.EnqueuedAt, now));
            Append(ref first, ref last, head);
        }

        return first;
    }

    private void RemoveLocked(Waiter waiter)
    {
        if (waiter.Prev is null)
        {
            _head = waiter.Next;
        }
        else
        {
            waiter.Prev.Next = waiter.Next;
        }

        if (waiter.Next is null)
        {
            _tail = waiter.Prev;
        }
        else
        {
            waiter.Next.Prev = waiter.Prev;
        }

        waiter.Prev = null;
        waiter.Next = null;
        waiter.Queued = false;
    }

    private void UpdateHeldGaugeLocked() => _stats.Held.Set(Volatile.Read(ref _word) >> 32);

    private DemandNotice HoldingNoticeLocked(long now)
    {
        _lastSignalAt = now;
        _refusedSinceSignal = 0;
        _stats.Demand.Increment();
        var oldest = _head is { } head ? _time.GetElapsedTime(head.EnqueuedAt, now) : TimeSpan.Zero;
        return new DemandNotice(_clusterName, Held, oldest, _time.GetUtcNow());
    }

    // Still cold after a hold timed out: remind the autoscaler, at most once per hold timeout.
    private DemandNotice? FailfastNoticeLocked()
    {
        _refusedSinceSignal++;
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(_lastSignalAt, now) < _policy.HoldTimeout)
        {
            return null;
        }

        var refused = _refusedSinceSignal;
        _lastSignalAt = now;
        _refusedSinceSignal = 0;
        _stats.Demand.Increment();
        return new DemandNotice(_clusterName, refused, _time.GetElapsedTime(_coldSince, now), _time.GetUtcNow());
    }

    private void Raise(DemandNotice? notice)
    {
        if (notice is null)
        {
            return;
        }

        try
        {
            _signal.Signal(notice);
        }
        catch (Exception exception)
        {
            // A signal must not throw; if one does, the request still waits for its endpoint.
            ProcessLog.Error($"activation demand signal for cluster {_clusterName}", exception);
        }
    }

    /// <summary>One held request: a queue node, its timer and its completion.</summary>
    private sealed class Waiter(ActivationGate gate, long enqueuedAt)
        : TaskCompletionSource<ActivationOutcome>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ActivationGate Gate { get; } = gate;

        public long EnqueuedAt { get; } = enqueuedAt;

        public ITimer? Timer { get; set; }

        // Queue links under the gate's lock; once out of the queue, Next chains completions.
        public Waiter? Prev { get; set; }

        public Waiter? Next { get; set; }

        public bool Queued { get; set; }

        public ActivationOutcome Outcome { get; set; }
    }
}
