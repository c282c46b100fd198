namespace Herald.Proxy.Admin;

/// <summary>A cluster and its endpoints as <c>/clusters</c> shows them.</summary>
internal sealed record ClusterView(string Name, IReadOnlyList<EndpointView> Endpoints);
