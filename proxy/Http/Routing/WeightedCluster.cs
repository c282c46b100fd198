namespace Herald.Proxy.Http.Routing;

/// <summary>One entry of a route's weighted_clusters.</summary>
internal sealed record WeightedCluster(string Name, uint Weight);
