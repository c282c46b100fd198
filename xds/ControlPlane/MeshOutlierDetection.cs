namespace Herald.Xds.ControlPlane;

/// <summary>
/// A service's <c>outlier_detection</c> in the mesh file; unset fields keep Envoy's defaults.
/// Setting <see cref="ConsecutiveGatewayFailure"/> also enforces it (Envoy enforces 0% by default).
/// </summary>
public sealed record MeshOutlierDetection(
    int? Consecutive5xx,
    int? ConsecutiveGatewayFailure,
    TimeSpan? Interval,
    TimeSpan? BaseEjectionTime,
    int? MaxEjectionPercent);
