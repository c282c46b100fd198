namespace Herald.Proxy.Upstream.Health;

/// <summary>Why a host was found to be an outlier.</summary>
internal enum OutlierEjectionKind
{
    Consecutive5xx,
    ConsecutiveGatewayFailure,
    SuccessRate,
}
