using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream.Health;

/// <summary>
/// A cluster's outlier detection (Envoy's passive health checking). Consecutive 5xx and
/// gateway failures eject a host as they happen; every <c>interval</c> hosts whose ejection
/// time passed come back, the ejection multiplier of healthy hosts shrinks, and success-rate
/// outliers are ejected. Ejected hosts leave the load balancer's set through
/// <see cref="Changed"/>; their endpoint objects (and pools) stay.
/// </summary>
internal sealed class OutlierDetector : IDisposable
{
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private readonly List<OutlierHostMonitor> _monitors = [];
    private readonly ITimer _timer;
    private int _ejected;
    private bool _disposed;

    public OutlierDetector(OutlierDetectionConfig config, StatsStore stats, string clusterName, TimeProvider time, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Stats = new OutlierDetectionStats(stats, clusterName);
        _time = time;
        _random = random ?? Random.Shared;
        _timer = time.CreateTimer(static state => ((OutlierDetector)state!).OnInterval(), this, config.Interval, config.Interval);
    }

    /// <summary>Raised, outside any lock, when a host was ejected or brought back.</summary>
    public event Action? Changed;

    public OutlierDetectionConfig Config { get; }

    public OutlierDetectionStats Stats { get; }

    /// <summary>Starts watching a host that joined the cluster.</summary>
    public void Attach(UpstreamEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var monitor = new OutlierHostMonitor(this, endpoint);
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _monitors.Add(monitor);
        }

        endpoint.Outlier = monitor;
    }

    /// <summary>Stops watching a host that left the cluster.</summary>
    public void Detach(UpstreamEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        lock (_lock)
        {
            if (endpoint.Outlier is not { } monitor || !_monitors.Remove(monitor))
            {
                return;
            }

            monitor.Attached = false;
            if (monitor.EjectedAt is not null)
            {
                monitor.EjectedAt = null;
                _ejected--;
                Stats.EjectionsActive.Set(_ejected);
            }
        }
    }

    /// <summary>A passing active health check brings an ejected host back and clears its counters.</summary>
    public void OnActiveHealthCheckSuccess(UpstreamEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (!Config.SuccessfulActiveHealthCheckUnejectHost || endpoint.Outlier is not { } monitor)
        {
            return;
        }

        bool changed;
        lock (_lock)
        {
            monitor.ResetConsecutive();
            changed = monitor.Attached && monitor.EjectedAt is not null;
            if (changed)
            {
                Uneject(monitor);
            }
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>A failure streak reached its threshold (called once per streak, from a forwarding path).</summary>
    internal void OnConsecutiveFailure(OutlierHostMonitor monitor, OutlierEjectionKind kind)
    {
        bool ejected;
        lock (_lock)
        {
            if (_disposed || !monitor.Attached || monitor.EjectedAt is not null)
            {
                return;
            }

            uint enforcing;
            if (kind == OutlierEjectionKind.Consecutive5xx)
            {
                Stats.EjectionsDetectedConsecutive5xx.Increment();
                enforcing = Config.EnforcingConsecutive5xx;
            }
            else
            {
                Stats.EjectionsDetectedConsecutiveGatewayFailure.Increment();
                enforcing = Config.EnforcingConsecutiveGatewayFailure;
            }

            ejected = TryEject(monitor, kind, enforcing);
        }

        if (ejected)
        {
            Changed?.Invoke();
        }
    }

    /// <summary>The interval sweep (public for tests that drive it without a timer).</summary>
    internal void OnInterval()
    {
        var changed = false;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow();
            foreach (var monitor in _monitors)
            {
                if (monitor.EjectedAt is { } ejectedAt)
                {
                    if (now - ejectedAt >= monitor.EjectionDuration)
                    {
                        Uneject(monitor);
                        changed = true;
                    }
                }
                else if (monitor.EjectionCount > 0)
                {
                    // Healthy for a whole interval: the next ejection will be shorter.
                    monitor.EjectionCount--;
                }
            }

            changed |= EjectSuccessRateOutliers();
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var monitor in _monitors)
            {
                monitor.Attached = false;
            }

            _monitors.Clear();
            _ejected = 0;
            Stats.EjectionsActive.Set(0);
        }

        _timer.Dispose();
    }

    // Success rate: among hosts with enough requests this interval (when there are enough such
    // hosts), those below mean - stdev × factor are outliers.
    private bool EjectSuccessRateOutliers()
    {
        var candidates = new List<(OutlierHostMonitor Monitor, double Rate)>();
        foreach (var monitor in _monitors)
        {
            var (requests, failures) = monitor.TakeWindow();
            if (monitor.EjectedAt is null && requests > 0 && requests >= Config.SuccessRateRequestVolume)
            {
                candidates.Add((monitor, 100.0 * (requests - failures) / requests));
            }
        }

        if (candidates.Count == 0 || candidates.Count < Config.SuccessRateMinimumHosts)
        {
            return false;
        }

        var mean = 0.0;
        foreach (var (_, rate) in candidates)
        {
            mean += rate;
        }

        mean /= candidates.Count;
        var variance = 0.0;
        foreach (var (_, rate) in candidates)
        {
            variance += (rate - mean) * (rate - mean);
        }

        var stdev = Math.Sqrt(variance / candidates.Count);
        var threshold = mean - (stdev * Config.SuccessRateStdevFactor / 1000.0);
        var changed = false;
        foreach (var (monitor, rate) in candidates)
        {
            if (rate < threshold)
            {
                Stats.EjectionsDetectedSuccessRate.Increment();
                changed |= TryEject(monitor, OutlierEjectionKind.SuccessRate, Config.EnforcingSuccessRate);
            }
        }

        return changed;
    }

    // Under _lock.
    private bool TryEject(OutlierHostMonitor monitor, OutlierEjectionKind kind, uint enforcingPercent)
    {
        if (enforcingPercent == 0 || (enforcingPercent < 100 && _random.Next(100) >= enforcingPercent))
        {
            return false;
        }

        // Envoy's rule: the ejection may not take the ejected share above max_ejection_percent,
        // except that one host may always be ejected.
        var percentAfter = 100.0 * (_ejected + 1) / _monitors.Count;
        if (_ejected > 0 && percentAfter > Config.MaxEjectionPercent)
        {
            Stats.EjectionsOverflow.Increment();
            return false;
        }

        monitor.EjectionCount++;
        var cap = Config.MaxEjectionTime > Config.BaseEjectionTime ? Config.MaxEjectionTime : Config.BaseEjectionTime;
        var duration = Config.BaseEjectionTime * monitor.EjectionCount;
        if (duration > cap)
        {
            duration = cap;

            // The multiplier stops growing once the cap is reached.
            monitor.EjectionCount = (int)Math.Ceiling(cap / Config.BaseEjectionTime);
        }

        if (Config.MaxEjectionTimeJitter > TimeSpan.Zero)
        {
            duration += TimeSpan.FromTicks((long)(_random.NextDouble() * Config.MaxEjectionTimeJitter.Ticks));
        }

        monitor.EjectedAt = _time.GetUtcNow();
        monitor.EjectionDuration = duration;
        monitor.Endpoint.SetHealthFlag(UpstreamEndpoint.FailedOutlierCheck, true);
        _ejected++;
        Stats.EjectionsActive.Set(_ejected);
        Stats.EjectionsEnforcedTotal.Increment();
        (kind switch
        {
            OutlierEjectionKind.Consecutive5xx => Stats.EjectionsEnforcedConsecutive5xx,
            OutlierEjectionKind.ConsecutiveGatewayFailure => Stats.EjectionsEnforcedConsecutiveGatewayFailure,
            _ => Stats.EjectionsEnforcedSuccessRate,
        }).Increment();
        return true;
    }

    // Under _lock.
    private void Uneject(OutlierHostMonitor monitor)
    {
        monitor.EjectedAt = null;
        monitor.ResetConsecutive();
        monitor.Endpoint.SetHealthFlag(UpstreamEndpoint.FailedOutlierCheck, false);
        _ejected--;
        Stats.EjectionsActive.Set(_ejected);
    }
}
