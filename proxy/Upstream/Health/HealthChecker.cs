namespace Herald.Proxy.Upstream.Health;

/// <summary>
/// A cluster's active health checking: one session per host, each on its own timer. A new
/// host starts failed (out of the load balancer's set) and its first check runs at once
/// (after <c>initial_jitter</c>); one pass brings it in, as in Envoy. Afterwards
/// <c>unhealthy_threshold</c> consecutive network failures (or one unhealthy answer) take it
/// out, and <c>healthy_threshold</c> consecutive passes bring it back. The next check is
/// scheduled when a check completes.
/// </summary>
internal sealed class HealthChecker : IAsyncDisposable
{
    private readonly IHealthProbe _probe;
    private readonly HealthCheckStats _stats;
    private readonly Func<bool> _hadTraffic;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private readonly Dictionary<UpstreamEndpoint, Session> _sessions = [];
    private readonly CancellationTokenSource _disposed = new();

    /// <param name="hadTraffic">Whether the cluster ever had traffic (else the no-traffic intervals apply).</param>
    public HealthChecker(HealthCheckConfig config, IHealthProbe probe, HealthCheckStats stats, Func<bool> hadTraffic, TimeProvider time, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _probe = probe;
        _stats = stats;
        _hadTraffic = hadTraffic;
        _time = time;
        _random = random ?? Random.Shared;
    }

    /// <summary>Raised, outside any lock, when a host turned healthy or unhealthy.</summary>
    public event Action? Changed;

    /// <summary>Raised after every passing check (outlier detection un-ejects on it).</summary>
    public event Action<UpstreamEndpoint>? Passed;

    public HealthCheckConfig Config { get; }

    /// <summary>Starts checking a host that joined the cluster; it is failed until its first pass.</summary>
    public void Add(UpstreamEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        endpoint.SetHealthFlag(UpstreamEndpoint.FailedActiveHealthCheck, true);
        lock (_lock)
        {
            if (_disposed.IsCancellationRequested || _sessions.ContainsKey(endpoint))
            {
                return;
            }

            var session = new Session(this, endpoint);
            _sessions.Add(endpoint, session);
            session.Start(Jitter(Config.InitialJitter, 0, TimeSpan.Zero));
        }
    }

    /// <summary>Stops checking a host that left the cluster.</summary>
    public void Remove(UpstreamEndpoint endpoint)
    {
        Session? session;
        lock (_lock)
        {
            if (!_sessions.Remove(endpoint, out session))
            {
                return;
            }

            UpdateHealthyGauge();
        }

        session.Stop();
    }

    /// <summary>Completes when every host present now has had its first check (each bounded by the timeout).</summary>
    public Task WaitForFirstChecksAsync(CancellationToken cancellationToken)
    {
        Task[] firsts;
        lock (_lock)
        {
            firsts = [.. _sessions.Values.Select(s => s.FirstResult)];
        }

        return Task.WhenAll(firsts).WaitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        Session[] sessions;
        lock (_lock)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }

            _disposed.Cancel();
            sessions = [.. _sessions.Values];
            _sessions.Clear();
        }

        foreach (var session in sessions)
        {
            session.Stop();
        }

        foreach (var session in sessions)
        {
            await session.Running.ConfigureAwait(false);
        }

        _probe.Dispose();
        _disposed.Dispose();
    }

    // Envoy's interval choice: no-traffic intervals until the cluster has had traffic; then
    // the edge interval right after a transition, else the healthy or unhealthy interval.
    // Then jitter: up to interval_jitter_percent of it, plus up to interval_jitter.
    internal TimeSpan NextInterval(bool healthy, bool justChanged)
    {
        TimeSpan interval;
        if (!_hadTraffic())
        {
            interval = healthy ? Config.NoTrafficHealthyInterval ?? Config.NoTrafficInterval : Config.NoTrafficInterval;
        }
        else if (healthy)
        {
            interval = justChanged ? Config.HealthyEdgeInterval ?? Config.Interval : Config.Interval;
        }
        else
        {
            var unhealthy = Config.UnhealthyInterval ?? Config.Interval;
            interval = justChanged ? Config.UnhealthyEdgeInterval ?? unhealthy : unhealthy;
        }

        return Jitter(Config.IntervalJitter, Config.IntervalJitterPercent, interval);
    }

    private TimeSpan Jitter(TimeSpan jitter, uint percent, TimeSpan interval)
    {
        var result = interval;
        if (percent > 0)
        {
            result += TimeSpan.FromTicks((long)(_random.NextDouble() * (interval.Ticks * percent / 100)));
        }

        if (jitter > TimeSpan.Zero)
        {
            result += TimeSpan.FromTicks((long)(_random.NextDouble() * jitter.Ticks));
        }

        return result;
    }

    // Under _lock.
    private void UpdateHealthyGauge()
    {
        var healthy = 0;
        foreach (var endpoint in _sessions.Keys)
        {
            if ((endpoint.HealthFlags & UpstreamEndpoint.FailedActiveHealthCheck) == 0)
            {
                healthy++;
            }
        }

        _stats.Healthy.Set(healthy);
    }

    // _stopped has no timer, so leaving it to the GC costs nothing; disposing it would race a
    // timer callback already under way.
#pragma warning disable CA1001
    private sealed class Session
#pragma warning restore CA1001
    {
        private readonly HealthChecker _owner;
        private readonly UpstreamEndpoint _endpoint;
        private readonly TaskCompletionSource _firstResult = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stopped = new();
        private readonly ITimer _timer;
        private bool _checkedOnce;
        private uint _passes;
        private uint _failures;

        public Session(HealthChecker owner, UpstreamEndpoint endpoint)
        {
            _owner = owner;
            _endpoint = endpoint;
            _timer = owner._time.CreateTimer(static state => ((Session)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public Task FirstResult => _firstResult.Task;

        /// <summary>The check in flight, if any (awaited on disposal).</summary>
        public Task Running { get; private set; } = Task.CompletedTask;

        public void Start(TimeSpan delay) => _timer.Change(delay, Timeout.InfiniteTimeSpan);

        public void Stop()
        {
            _timer.Dispose();
            _stopped.Cancel();
            _firstResult.TrySetResult();
        }

        private void OnTimer()
        {
            if (_stopped.IsCancellationRequested)
            {
                return;
            }

            Running = CheckAsync();
        }

        private async Task CheckAsync()
        {
            _owner._stats.Attempt.Increment();
            HealthCheckOutcome outcome;
            using (var timeout = new CancellationTokenSource(_owner.Config.Timeout, _owner._time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopped.Token))
            {
                try
                {
                    outcome = await _owner._probe.CheckAsync(_endpoint, linked.Token).ConfigureAwait(false);
                    if (timeout.IsCancellationRequested)
                    {
                        outcome = HealthCheckOutcome.NetworkFailure;
                    }
                }
                catch (OperationCanceledException) when (!_stopped.IsCancellationRequested)
                {
                    outcome = HealthCheckOutcome.NetworkFailure;
                }
                catch (OperationCanceledException)
                {
                    return;
                }
#pragma warning disable CA1031 // A probe's unexpected error is the host's failed check, not the proxy's.
                catch (Exception)
#pragma warning restore CA1031
                {
                    outcome = HealthCheckOutcome.NetworkFailure;
                }
            }

            Complete(outcome);
        }

        private void Complete(HealthCheckOutcome outcome)
        {
            bool changed;
            bool healthy;
            lock (_owner._lock)
            {
                if (_stopped.IsCancellationRequested)
                {
                    return;
                }

                var wasHealthy = (_endpoint.HealthFlags & UpstreamEndpoint.FailedActiveHealthCheck) == 0;
                healthy = wasHealthy;
                if (outcome == HealthCheckOutcome.Healthy)
                {
                    _owner._stats.Success.Increment();
                    _failures = 0;
                    _passes++;

                    // At startup a single pass is enough (as Envoy).
                    if (!wasHealthy && (!_checkedOnce || _passes >= _owner.Config.HealthyThreshold))
                    {
                        healthy = true;
                    }
                }
                else
                {
                    _owner._stats.Failure.Increment();
                    if (outcome == HealthCheckOutcome.NetworkFailure)
                    {
                        _owner._stats.NetworkFailure.Increment();
                    }

                    _passes = 0;
                    _failures++;
                    if (wasHealthy && (outcome == HealthCheckOutcome.Unhealthy || _failures >= _owner.Config.UnhealthyThreshold))
                    {
                        healthy = false;
                    }
                }

                _checkedOnce = true;
                changed = healthy != wasHealthy;
                if (changed)
                {
                    _endpoint.SetHealthFlag(UpstreamEndpoint.FailedActiveHealthCheck, !healthy);
                    _passes = 0;
                    _failures = 0;
                    _owner.UpdateHealthyGauge();
                }

                _timer.Change(_owner.NextInterval(healthy, changed), Timeout.InfiniteTimeSpan);
            }

            _firstResult.TrySetResult();
            if (outcome == HealthCheckOutcome.Healthy)
            {
                _owner.Passed?.Invoke(_endpoint);
            }

            if (changed)
            {
                _owner.Changed?.Invoke();
            }
        }
    }
}
