namespace Herald.Proxy.Activation;

/// <summary>
/// Demand for a cluster with no endpoint. On entering Holding: <paramref name="Held"/> requests
/// are held and the oldest has waited <paramref name="OldestWait"/>. In Failfast (the periodic
/// reminder): <paramref name="Held"/> requests were refused since the previous notice and
/// <paramref name="OldestWait"/> is how long the cluster has been wanted without an endpoint.
/// </summary>
internal sealed record DemandNotice(string Cluster, int Held, TimeSpan OldestWait, DateTimeOffset At);
