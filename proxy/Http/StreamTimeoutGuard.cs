namespace Herald.Proxy.Http;

/// <summary>
/// One timer for a stream's idle timeout and total duration. The HTTP/1.1 path keeps one per
/// connection and re-arms it for each request (no allocation per request); activity only
/// stores a timestamp, and the timer, when it falls due, re-arms itself for the remaining
/// time until the stream has really been idle that long or has run out of time. When it
/// fires, <see cref="Expired"/> says why and the owner's callback ends the stream.
/// </summary>
internal sealed class StreamTimeoutGuard : IDisposable
{
    private static readonly TimeSpan MinimumDue = TimeSpan.FromMilliseconds(1);

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly Action<object?> _onExpired;
    private readonly object? _state;
    private readonly ITimer _timer;
    private long _idleTicks;
    private long _deadline;
    private long _lastActivity;
    private bool _armed;
    private int _expired;

    public StreamTimeoutGuard(TimeProvider time, Action<object?> onExpired, object? state)
    {
        _time = time;
        _onExpired = onExpired;
        _state = state;
        _timer = time.CreateTimer(static s => ((StreamTimeoutGuard)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Why the stream was ended; <see cref="StreamTimeoutKind.None"/> while it runs.</summary>
    public StreamTimeoutKind Expired => (StreamTimeoutKind)Volatile.Read(ref _expired);

    /// <summary>Whether a stream is being timed (activity is worth recording).</summary>
    public bool Armed => _armed;

    /// <summary>Starts timing a stream; a zero idle or duration is no bound. False when neither bounds it.</summary>
    public bool Start(TimeSpan idle, TimeSpan duration)
    {
        lock (_lock)
        {
            Volatile.Write(ref _expired, (int)StreamTimeoutKind.None);
            if (idle <= TimeSpan.Zero && duration <= TimeSpan.Zero)
            {
                _armed = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                return false;
            }

            var now = _time.GetTimestamp();
            _lastActivity = now;
            _idleTicks = idle > TimeSpan.Zero ? ToTimestampTicks(idle) : 0;
            _deadline = duration > TimeSpan.Zero ? now + ToTimestampTicks(duration) : long.MaxValue;
            _armed = true;
            var due = idle <= TimeSpan.Zero ? duration : duration <= TimeSpan.Zero ? idle : (idle < duration ? idle : duration);
            _timer.Change(due, Timeout.InfiniteTimeSpan);
            return true;
        }
    }

    /// <summary>Bytes moved on the stream: the idle timer starts again (only a timestamp is stored).</summary>
    public void Touch()
    {
        if (_armed)
        {
            Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        }
    }

    /// <summary>The stream ended: the timer is disarmed (<see cref="Expired"/> keeps its value).</summary>
    public void Stop()
    {
        lock (_lock)
        {
            if (_armed)
            {
                _armed = false;
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }
        }
    }

    public void Dispose() => _timer.Dispose();

    private void OnTimer()
    {
        lock (_lock)
        {
            if (!_armed)
            {
                return;
            }

            var now = _time.GetTimestamp();
            StreamTimeoutKind fired;
            if (now >= _deadline)
            {
                fired = StreamTimeoutKind.Duration;
            }
            else if (_idleTicks > 0 && now - Volatile.Read(ref _lastActivity) >= _idleTicks)
            {
                fired = StreamTimeoutKind.Idle;
            }
            else
            {
                var next = _deadline - now;
                if (_idleTicks > 0)
                {
                    next = Math.Min(next, Volatile.Read(ref _lastActivity) + _idleTicks - now);
                }

                var due = TimeSpan.FromSeconds((double)next / _time.TimestampFrequency);
                _timer.Change(due < MinimumDue ? MinimumDue : due, Timeout.InfiniteTimeSpan);
                return;
            }

            _armed = false;
            Volatile.Write(ref _expired, (int)fired);
        }

        _onExpired(_state);
    }

    private long ToTimestampTicks(TimeSpan span)
    {
        var ticks = span.TotalSeconds * _time.TimestampFrequency;
        return ticks >= long.MaxValue / 2 ? long.MaxValue / 2 : (long)ticks;
    }
}
