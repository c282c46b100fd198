namespace Herald.Proxy.Upstream.Health;

/// <summary>Which active health checker a cluster runs.</summary>
internal enum HealthCheckKind
{
    Http,
    Tcp,
    Grpc,
}
