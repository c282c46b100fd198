namespace Herald.Proxy.Upstream.Health;

/// <summary>One kind of active health check against one host.</summary>
internal interface IHealthProbe : IDisposable
{
    /// <summary>
    /// Checks <paramref name="endpoint"/> once. Failures are outcomes, not exceptions; the
    /// token is cancelled at the check's timeout (the caller then counts a network failure).
    /// </summary>
    Task<HealthCheckOutcome> CheckAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken);
}
