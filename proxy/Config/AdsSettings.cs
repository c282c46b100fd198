namespace Herald.Proxy.Config;

/// <summary>Where and how to reach the control plane, from the bootstrap's dynamic_resources.</summary>
internal sealed class AdsSettings
{
    /// <summary>The static cluster named by <c>ads_config.grpc_services[0].envoy_grpc.cluster_name</c>.</summary>
    public required string ClusterName { get; init; }

    /// <summary><c>DELTA_GRPC</c> rather than state of the world.</summary>
    public bool Delta { get; init; }
}
