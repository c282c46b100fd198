namespace Herald.Proxy.Upstream;

/// <summary>Envoy's <c>Cluster.lb_policy</c>.</summary>
internal enum LoadBalancerPolicy
{
    RoundRobin,
    LeastRequest,
    Random,
    RingHash,
    Maglev,
    ClusterProvided,
}
