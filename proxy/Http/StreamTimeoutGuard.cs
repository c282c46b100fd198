namespace Herald.Proxy.Http;

/// <summary>
/// A stream's idle timeout and total duration, watched by a shared <see cref="StreamTimeoutSweeper"/>
/// instead of a timer of its own: arming, activity and disarming are plain field writes and
/// one compare-and-swap, so the default five-minute idle timeout costs a request next to
/// nothing. Guards are rented from the sweeper (the HTTP/1.1 relay keeps one per connection,
/// HTTP/2 rents one per stream) and returned to it. When a bound is passed, the sweeper marks
/// the guard expired and calls the owner's callback; <see cref="Expired"/> says why.
/// </summary>
internal sealed class StreamTimeoutGuard
{
    // _state: generation << 8 | phase. The generation changes on every Start, so the sweeper
    // never expires a stream from the fields of an earlier one.
    private const long PhaseMask = 0xFF;
    private const long PhaseDisarmed = 0;
    private const long PhaseArmed = 1;
    private const long PhaseExpiredIdle = 2;
    private const long PhaseExpiredDuration = 3;

    private readonly StreamTimeoutSweeper _sweeper;
    private long _state;
    private long _idleTicks;
    private long _deadline;
    private long _lastActivity;
    private Action<object?>? _onExpired;
    private object? _callbackState;

    internal StreamTimeoutGuard(StreamTimeoutSweeper sweeper) => _sweeper = sweeper;

    /// <summary>Why the stream was ended; <see cref="StreamTimeoutKind.None"/> while it runs.</summary>
    public StreamTimeoutKind Expired => (Volatile.Read(ref _state) & PhaseMask) switch
    {
        PhaseExpiredIdle => StreamTimeoutKind.Idle,
        PhaseExpiredDuration => StreamTimeoutKind.Duration,
        _ => StreamTimeoutKind.None,
    };

    /// <summary>Whether a stream is being timed.</summary>
    public bool Armed => (Volatile.Read(ref _state) & PhaseMask) == PhaseArmed;

    /// <summary>Sets what runs (on the sweeper's thread) when a bound is passed.</summary>
    public void SetCallback(Action<object?> onExpired, object? state)
    {
        _onExpired = onExpired;
        _callbackState = state;
    }

    /// <summary>Starts timing a stream; a zero idle or duration is no bound. False when neither bounds it.</summary>
    public bool Start(TimeSpan idle, TimeSpan duration)
    {
        var generation = (Volatile.Read(ref _state) >> 8) + 1;
        if (idle <= TimeSpan.Zero && duration <= TimeSpan.Zero)
        {
            Volatile.Write(ref _state, generation << 8 | PhaseDisarmed);
            return false;
        }

        var now = _sweeper.Time.GetTimestamp();
        _lastActivity = now;
        _idleTicks = idle > TimeSpan.Zero ? _sweeper.ToTimestampTicks(idle) : 0;
        _deadline = duration > TimeSpan.Zero ? now + _sweeper.ToTimestampTicks(duration) : long.MaxValue;
        var due = _idleTicks > 0 ? Math.Min(_deadline, now + _idleTicks) : _deadline;

        // Publishes the fields above before the sweeper can see the stream armed; a full fence,
        // so the sweeper's plan read next is not read before this write is visible.
        Interlocked.Exchange(ref _state, generation << 8 | PhaseArmed);
        _sweeper.EnsureSweepBy(due);
        return true;
    }

    /// <summary>Bytes moved on the stream: the idle timer starts again (only a timestamp is stored).</summary>
    public void Touch()
    {
        if (_idleTicks > 0)
        {
            Volatile.Write(ref _lastActivity, _sweeper.Time.GetTimestamp());
        }
    }

    /// <summary>The stream ended: the guard is disarmed. True when a bound had fired first.</summary>
    public bool Stop()
    {
        var state = Volatile.Read(ref _state);
        while ((state & PhaseMask) == PhaseArmed)
        {
            var seen = Interlocked.CompareExchange(ref _state, (state & ~PhaseMask) | PhaseDisarmed, state);
            if (seen == state)
            {
                return false;
            }

            state = seen;
        }

        return (state & PhaseMask) is PhaseExpiredIdle or PhaseExpiredDuration;
    }

    /// <summary>
    /// On the sweeper: expires the stream if a bound has passed (the callback is returned to be
    /// run outside the sweeper's lock); otherwise gives the time it next falls due.
    /// </summary>
    internal bool TrySweep(long now, out long due, out Action<object?>? onExpired, out object? callbackState)
    {
        due = long.MaxValue;
        onExpired = null;
        callbackState = null;
        var state = Volatile.Read(ref _state);
        if ((state & PhaseMask) != PhaseArmed)
        {
            return false;
        }

        var deadline = _deadline;
        var idleTicks = _idleTicks;
        var lastActivity = Volatile.Read(ref _lastActivity);
        var callback = _onExpired;
        var callbackTarget = _callbackState;
        long phase;
        if (now >= deadline)
        {
            phase = PhaseExpiredDuration;
        }
        else if (idleTicks > 0 && now - lastActivity >= idleTicks)
        {
            phase = PhaseExpiredIdle;
        }
        else
        {
            due = idleTicks > 0 ? Math.Min(deadline, lastActivity + idleTicks) : deadline;
            return false;
        }

        if (Interlocked.CompareExchange(ref _state, (state & ~PhaseMask) | phase, state) != state)
        {
            // Stopped or restarted meanwhile: nothing to expire now.
            return false;
        }

        onExpired = callback;
        callbackState = callbackTarget;
        return true;
    }
}
