namespace Herald.Proxy.Upstream.Health;

/// <summary>
/// One host's passive health: consecutive failure counters and the success-rate window,
/// updated lock-free from the forwarding paths; ejection state, guarded by the detector.
/// </summary>
internal sealed class OutlierHostMonitor
{
    private readonly OutlierDetector _detector;
    private int _consecutive5xx;
    private int _consecutiveGatewayFailure;
    private long _windowRequests;
    private long _windowFailures;

    public OutlierHostMonitor(OutlierDetector detector, UpstreamEndpoint endpoint)
    {
        _detector = detector;
        Endpoint = endpoint;
    }

    public UpstreamEndpoint Endpoint { get; }

    // The fields below are guarded by the detector's lock.

    /// <summary>When the current ejection began; null when the host is not ejected.</summary>
    internal DateTimeOffset? EjectedAt { get; set; }

    /// <summary>How long the current ejection lasts (base × ejections, capped, plus jitter).</summary>
    internal TimeSpan EjectionDuration { get; set; }

    /// <summary>The ejection time multiplier: grows per ejection, shrinks per healthy interval.</summary>
    internal int EjectionCount { get; set; }

    /// <summary>False once the host left its cluster: late reports are ignored.</summary>
    internal bool Attached { get; set; } = true;

    /// <summary>A response from the host. 5xx count as failures; 502, 503 and 504 also as gateway failures.</summary>
    public void PutHttpStatus(int status)
    {
        Interlocked.Increment(ref _windowRequests);
        if (status < 500 || status > 599)
        {
            // Success path: no write unless a failure streak is running.
            if (Volatile.Read(ref _consecutive5xx) != 0)
            {
                Volatile.Write(ref _consecutive5xx, 0);
            }

            if (Volatile.Read(ref _consecutiveGatewayFailure) != 0)
            {
                Volatile.Write(ref _consecutiveGatewayFailure, 0);
            }

            return;
        }

        Interlocked.Increment(ref _windowFailures);
        if (status is 502 or 503 or 504)
        {
            if (Interlocked.Increment(ref _consecutiveGatewayFailure) == (int)_detector.Config.ConsecutiveGatewayFailure)
            {
                _detector.OnConsecutiveFailure(this, OutlierEjectionKind.ConsecutiveGatewayFailure);
            }
        }
        else if (Volatile.Read(ref _consecutiveGatewayFailure) != 0)
        {
            Volatile.Write(ref _consecutiveGatewayFailure, 0);
        }

        if (Interlocked.Increment(ref _consecutive5xx) == (int)_detector.Config.Consecutive5xx)
        {
            _detector.OnConsecutiveFailure(this, OutlierEjectionKind.Consecutive5xx);
        }
    }

    /// <summary>Clears the failure streaks (un-ejection, a passing active health check).</summary>
    internal void ResetConsecutive()
    {
        Volatile.Write(ref _consecutive5xx, 0);
        Volatile.Write(ref _consecutiveGatewayFailure, 0);
    }

    /// <summary>Takes the success-rate window (requests, failures) and starts a new one.</summary>
    internal (long Requests, long Failures) TakeWindow()
    {
        var failures = Interlocked.Exchange(ref _windowFailures, 0);
        var requests = Interlocked.Exchange(ref _windowRequests, 0);
        return (requests, Math.Min(failures, requests));
    }
}
