namespace Herald.Xds.ControlPlane;

/// <summary>
/// A service's <c>health_check</c> in the mesh file: exactly one of an HTTP path, TCP connect,
/// or a gRPC health service name ("" for the whole server).
/// </summary>
public sealed record MeshHealthCheck(
    string? HttpPath,
    bool Tcp,
    string? GrpcService,
    TimeSpan Interval,
    TimeSpan Timeout,
    int UnhealthyThreshold,
    int HealthyThreshold)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    public const int DefaultUnhealthyThreshold = 3;

    public const int DefaultHealthyThreshold = 2;
}
