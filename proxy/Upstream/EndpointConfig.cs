namespace Herald.Proxy.Upstream;

/// <summary>
/// One configured endpoint: an IP literal (STATIC, EDS) or a DNS name (STRICT_DNS,
/// LOGICAL_DNS). <paramref name="Healthy"/> is false for UNHEALTHY, DRAINING and TIMEOUT.
/// </summary>
internal sealed record EndpointConfig(string Host, int Port, uint Weight = 1, uint Priority = 0, bool Healthy = true);
