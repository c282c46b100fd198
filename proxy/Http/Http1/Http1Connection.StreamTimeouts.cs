using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Http1;

/// <summary>
/// stream_idle_timeout, idle_timeout and max_stream_duration on the HTTP/1.1 relay: one
/// timer per connection, re-armed per request. When it fires, the pending reads and
/// flushes are cancelled; the relay then answers 408 (or the gRPC form) if the response
/// has not started, or closes the connection if it has.
/// </summary>
internal sealed partial class Http1Connection
{
    private StreamTimeoutGuard? _streamGuard;
    private Http1UpstreamConnection? _timedUpstream;
    private CancellationTokenSource? _bridgeCancel;
    private StreamTimeoutGuard? _routeTimer;

    private StreamTimeoutKind StreamExpired => _streamGuard?.Expired ?? StreamTimeoutKind.None;

    /// <summary>Arms the stream timers for this request; nothing is allocated when neither applies.</summary>
    private void StartStreamTimers(Routing.ClusterAction action)
    {
        StreamTimeouts.Resolve(_manager.Config, action, _request, out var idle, out var duration);
        if (idle <= TimeSpan.Zero && duration <= TimeSpan.Zero)
        {
            _streamGuard?.Start(TimeSpan.Zero, TimeSpan.Zero);
            return;
        }

        _streamGuard ??= StreamTimeoutSweeper.For(_time).Rent(static state => ((Http1Connection)state!).OnStreamTimeout(), this);
        _streamGuard.Start(idle, duration);
    }

    /// <summary>
    /// Between requests the same guard times the connection's idle_timeout (Envoy: no active
    /// stream for that long closes the connection); when it fires, the head read is cancelled.
    /// </summary>
    private void ArmConnectionIdleTimer()
    {
        var idle = _manager.Config.IdleTimeout;
        if (idle <= TimeSpan.Zero)
        {
            _streamGuard?.Start(TimeSpan.Zero, TimeSpan.Zero);
            return;
        }

        _streamGuard ??= StreamTimeoutSweeper.For(_time).Rent(static state => ((Http1Connection)state!).OnStreamTimeout(), this);
        _streamGuard.Start(idle, TimeSpan.Zero);
    }

    /// <summary>Disarms the timers; true when one had fired (the upstream connection must not be reused).</summary>
    private bool StopStreamTimers()
    {
        if (_streamGuard is not { } guard)
        {
            return false;
        }

        guard.Stop();
        Volatile.Write(ref _timedUpstream, null);
        return guard.Expired != StreamTimeoutKind.None;
    }

    // On the timer's thread: wake every wait of the relay; it looks at StreamExpired.
    private void OnStreamTimeout()
    {
        Volatile.Read(ref _timedUpstream)?.Input.CancelPendingRead();
        _input.CancelPendingRead();
        _output.CancelPendingFlush();
        try
        {
            Volatile.Read(ref _bridgeCancel)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The bridged exchange ended as the timer fired.
        }
    }

    /// <summary>
    /// For the HTTP/1.1-to-HTTP/2 bridge, which waits on tokens rather than pipes: a source the
    /// timer cancels, linked to the route timeout. Null (nothing allocated) when no stream timer runs.
    /// </summary>
    private CancellationTokenSource? BeginBridgedStream(CancellationTokenSource? routeTimeout)
    {
        if (_streamGuard is not { Armed: true })
        {
            return null;
        }

        var source = routeTimeout is null ? new CancellationTokenSource() : CancellationTokenSource.CreateLinkedTokenSource(routeTimeout.Token);
        Volatile.Write(ref _bridgeCancel, source);
        if (StreamExpired != StreamTimeoutKind.None)
        {
            source.Cancel();
        }

        return source;
    }

    /// <summary>Ends a request whose stream timer fired: a local reply before the response started, else a closed connection.</summary>
    private async ValueTask<bool> EndTimedOutStreamAsync(StreamTimeoutKind kind, bool responseStarted, Task<BodyOutcome>? bodyTask)
    {
        if (kind == StreamTimeoutKind.Idle)
        {
            _stats.DownstreamRqIdleTimeout.Increment();
        }
        else
        {
            _stats.DownstreamRqMaxDurationReached.Increment();
        }

        if (bodyTask is not null)
        {
            try
            {
                await bodyTask.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The request is over either way.
            }
        }

        var reply = StreamTimeouts.ReplyFor(kind, _request);
        _responseFlags = reply.ResponseFlag;
        if (responseStarted)
        {
            return false;
        }

        return await WriteLocalReplyAsync(reply.Status, reply.Body, keepAlive: false, reply.Headers).ConfigureAwait(false);
    }
}
