using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Herald.Xds.Client;

/// <summary>
/// The ADS client: one stream to a control plane (state of the world or delta), wildcard
/// LDS and CDS, RDS and EDS by the names they need, ACK/NACK, warming, and reconnection
/// with jittered exponential backoff. The last applied config keeps serving while the
/// control plane is away. Everything that changes state runs on one event loop.
/// </summary>
public sealed class AdsClient : IAsyncDisposable
{
    // Responses wait here for the loop; the reader blocks when it is full.
    private const int EventCapacity = 16;

    private readonly AdsClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly AdsStateMachine _state;
    private readonly Channel<object> _events = Channel.CreateBounded<object>(new BoundedChannelOptions(EventCapacity) { SingleReader = true });

    // Timer callbacks cannot wait for room in the channel; at most one entry per armed timer.
    private readonly ConcurrentQueue<object> _timerEvents = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private AdsSession? _session;
    private int _connectAttempt;
    private int _failures;
    private ITimer? _reconnectTimer;
    private volatile bool _connected;
    private volatile XdsClientStatus _status = XdsClientStatus.Initial;

    public AdsClient(AdsClientOptions options, IXdsConfigTarget target, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(time);
        if (options.Mode == AdsMode.StateOfTheWorld && options.ConnectStateOfTheWorld is null)
        {
            throw new ArgumentException("ConnectStateOfTheWorld is required in state-of-the-world mode", nameof(options));
        }

        if (options.Mode == AdsMode.Delta && options.ConnectDelta is null)
        {
            throw new ArgumentException("ConnectDelta is required in delta mode", nameof(options));
        }

        _options = options;
        _time = time;
        _random = options.Random ?? Random.Shared;
        _state = new AdsStateMachine(target, time, options.ResourceArrivalTimeout, OnArrivalTimeout);
    }

    /// <summary>Raised on the client's loop when the stream comes up (true) or goes away (false).</summary>
    public event Action<bool>? ConnectedChanged;

    /// <summary>Raised on the client's loop when the stream could not be opened or ended: why, and when the next attempt is due.</summary>
    public event Action<string, TimeSpan>? StreamLost;

    /// <summary>Raised on the client's loop once per rejected update (NACK): its type URL and the rejection.</summary>
    public event Action<string, XdsNack>? ConfigRejected;

    public bool IsConnected => _connected;

    /// <summary>For tests: raised on the loop with each reconnect delay, after its timer is armed.</summary>
    internal event Action<TimeSpan>? ReconnectScheduled;

    public XdsClientStatus Status => _status;

    /// <summary>Starts the background loop and returns at once; cancelling the token stops the loop.</summary>
    public Task StartAsync(CancellationToken ct)
    {
        if (_loop is not null)
        {
            throw new InvalidOperationException("the ADS client is already started");
        }

        var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, _stopping.Token);
        _loop = Task.Run(() => RunAsync(linked.Token), CancellationToken.None)
            .ContinueWith(_ => linked.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <summary>Completes once the first complete config (LDS, CDS and what they need, or their timeouts) is applied.</summary>
    public Task WaitForInitialConfigAsync(CancellationToken ct) => _state.InitialConfig.WaitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }
        }

        _stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            _state.Start();
            Connect(ct);
            while (await _events.Reader.WaitToReadAsync(ct))
            {
                while (_events.Reader.TryRead(out var item))
                {
                    await HandleAsync(item, ct);
                    while (_timerEvents.TryDequeue(out var timerEvent))
                    {
                        await HandleAsync(timerEvent, ct);
                    }

                    PublishStatus();
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        finally
        {
            _reconnectTimer?.Dispose();
            _state.Dispose();
            if (_session is not null)
            {
                await _session.DisposeAsync();
                _session = null;
            }

            SetConnected(false);
        }
    }

    private async Task HandleAsync(object item, CancellationToken ct)
    {
        switch (item)
        {
            case Connected connected when connected.Attempt == _connectAttempt && _session is null:
                await StartSessionAsync(connected.Session, ct);
                break;
            case Connected stale:
                await stale.Session.DisposeAsync();
                break;
            case ConnectFailed failed when failed.Attempt == _connectAttempt && _session is null:
                ScheduleReconnect(deliveredConfig: false, $"cannot open the stream: {failed.Error.Message}");
                break;
            case Response response when ReferenceEquals(response.Session, _session):
                await GuardAsync(response.Session, () => response.Session.HandleResponseAsync(response.Message, ct), ct);
                break;
            case StreamEnded ended when ReferenceEquals(ended.Session, _session):
                await EndSessionAsync(ended.Session, ended.Error?.Message ?? "the control plane closed the stream");
                break;
            case ArrivalTimeout timeout:
                var lateNacks = await _state.ArrivalTimedOutAsync(timeout.Type, timeout.Name, timeout.Timer, ct);
                if (_session is { } session)
                {
                    await GuardAsync(
                        session,
                        async () =>
                        {
                            foreach (var nack in lateNacks)
                            {
                                await session.SendLateNackAsync(nack, ct);
                            }

                            await session.SendSubscriptionChangesAsync(ct);
                        },
                        ct);
                }

                break;
            case ReconnectDue:
                _reconnectTimer?.Dispose();
                _reconnectTimer = null;
                if (_session is null)
                {
                    Connect(ct);
                }

                break;
            default:
                break; // Events of a stream that is gone, or a wake-up for the timer queue.
        }
    }

    private void Connect(CancellationToken ct)
    {
        var attempt = ++_connectAttempt;
        _ = Task.Run(
            async () =>
            {
                object result;
                try
                {
                    result = new Connected(attempt, await OpenAsync(ct));
                }
                catch (Exception e) when (!ct.IsCancellationRequested)
                {
                    result = new ConnectFailed(attempt, e);
                }

                await _events.Writer.WriteAsync(result, ct);
            },
            ct);
    }

    private async Task<AdsSession> OpenAsync(CancellationToken ct)
    {
        if (_options.Mode == AdsMode.Delta)
        {
            var delta = await _options.ConnectDelta!(ct);
            return new DeltaAdsSession(delta, _state, _options.Node, _time, PublishStatus);
        }

        var sotw = await _options.ConnectStateOfTheWorld!(ct);
        return new SotwAdsSession(sotw, _state, _options.Node, _time, PublishStatus);
    }

    private async Task StartSessionAsync(AdsSession session, CancellationToken ct)
    {
        _session = session;
        SetConnected(true);
        _ = Task.Run(() => ReadLoopAsync(session, ct), ct);
        await GuardAsync(session, () => session.SendInitialRequestsAsync(ct), ct);
    }

    private async Task ReadLoopAsync(AdsSession session, CancellationToken ct)
    {
        Exception? error = null;
        try
        {
            while (await session.ReadAsync(ct) is { } message)
            {
                await _events.Writer.WriteAsync(new Response(session, message), ct);
            }
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            error = e;
        }

        if (!ct.IsCancellationRequested)
        {
            try
            {
                await _events.Writer.WriteAsync(new StreamEnded(session, error), ct);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <summary>A write that fails ends the stream like a read that fails.</summary>
    private async Task GuardAsync(AdsSession session, Func<Task> action, CancellationToken ct)
    {
        try
        {
            await action();
        }
        catch (Exception e) when (!ct.IsCancellationRequested && e is not OperationCanceledException)
        {
            if (ReferenceEquals(session, _session))
            {
                await EndSessionAsync(session, e.Message);
            }
        }
    }

    private async Task EndSessionAsync(AdsSession session, string reason)
    {
        _session = null;
        await session.DisposeAsync();

        // Nothing is cleared: the last applied config keeps serving until the server is back.
        ScheduleReconnect(session.DeliveredAcceptedConfig, reason);
    }

    /// <summary>
    /// Full jitter: a delay drawn uniformly from zero to min(MaxBackoff, InitialBackoff * 2^failures),
    /// so many clients losing one server do not return in step. A stream that delivered an
    /// accepted config resets the exponent. The timer is armed before listeners hear of the loss.
    /// </summary>
    private void ScheduleReconnect(bool deliveredConfig, string reason)
    {
        if (deliveredConfig)
        {
            _failures = 0;
        }

        var ceiling = BackoffCeiling(_options.InitialBackoff, _options.MaxBackoff, _failures);
        _failures = Math.Min(_failures + 1, 62);
        var delay = TimeSpan.FromTicks((long)(ceiling.Ticks * _random.NextDouble()));
        _reconnectTimer?.Dispose();
        _reconnectTimer = _time.CreateTimer(_ => Post(ReconnectDue.Instance), null, delay, Timeout.InfiniteTimeSpan);
        ReconnectScheduled?.Invoke(delay);
        StreamLost?.Invoke(reason, delay);
        SetConnected(false);
    }

    internal static TimeSpan BackoffCeiling(TimeSpan initial, TimeSpan max, int failures)
    {
        var ticks = (double)initial.Ticks * Math.Pow(2, failures);
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }

    private void OnArrivalTimeout(AdsTypeState type, string name, ITimer? timer) => Post(new ArrivalTimeout(type, name, timer));

    private void Post(object timerEvent)
    {
        _timerEvents.Enqueue(timerEvent);
        _events.Writer.TryWrite(Wake.Instance);
    }

    private void SetConnected(bool connected)
    {
        if (_connected == connected)
        {
            return;
        }

        _connected = connected;
        PublishStatus();
        ConnectedChanged?.Invoke(connected);
    }

    private void PublishStatus()
    {
        var types = new List<XdsTypeStatus>(_state.AllTypes.Count);
        foreach (var type in _state.AllTypes)
        {
            types.Add(type.ToStatus());
            if (type.LastNack is { } nack && !ReferenceEquals(nack, type.ReportedNack))
            {
                type.ReportedNack = nack;
                ConfigRejected?.Invoke(type.TypeUrl, nack);
            }
        }

        _status = new XdsClientStatus(_connected, types);
    }

    private sealed record Connected(int Attempt, AdsSession Session);

    private sealed record ConnectFailed(int Attempt, Exception Error);

    private sealed record Response(AdsSession Session, object Message);

    private sealed record StreamEnded(AdsSession Session, Exception? Error);

    private sealed record ArrivalTimeout(AdsTypeState Type, string Name, ITimer? Timer);

    private sealed class ReconnectDue
    {
        public static ReconnectDue Instance { get; } = new();
    }

    private sealed class Wake
    {
        public static Wake Instance { get; } = new();
    }
}
