namespace Herald.Proxy.Upstream.Health;

/// <summary>What one active health check found.</summary>
internal enum HealthCheckOutcome
{
    /// <summary>The host answered as healthy.</summary>
    Healthy,

    /// <summary>
    /// The host answered, and the answer means unhealthy (an unexpected HTTP status, NOT_SERVING,
    /// a TCP payload mismatch): as in Envoy, this marks the host unhealthy at once.
    /// </summary>
    Unhealthy,

    /// <summary>No usable answer (connect failure, reset, protocol error, timeout): counts toward unhealthy_threshold.</summary>
    NetworkFailure,
}
