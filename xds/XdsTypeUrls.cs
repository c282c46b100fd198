namespace Herald.Xds;

/// <summary>The type URLs of the resources Herald exchanges over xDS.</summary>
public static class XdsTypeUrls
{
    public const string Listener = "type.googleapis.com/envoy.config.listener.v3.Listener";
    public const string RouteConfiguration = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
    public const string Cluster = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
    public const string ClusterLoadAssignment = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";
    public const string Secret = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    public const string AggregatedDiscoveryService = "envoy.service.discovery.v3.AggregatedDiscoveryService";
    public const string StreamAggregatedResourcesPath = "/" + AggregatedDiscoveryService + "/StreamAggregatedResources";
    public const string DeltaAggregatedResourcesPath = "/" + AggregatedDiscoveryService + "/DeltaAggregatedResources";
}
