namespace Herald.Proxy.Admin;

/// <summary>One endpoint of a <see cref="ClusterView"/>; <paramref name="Address"/> is <c>ip:port</c>.</summary>
internal sealed record EndpointView(string Address, uint Weight, int ActiveRequests, long RequestsTotal, bool Healthy)
{
    /// <summary>Open upstream connections, when the pool knows them.</summary>
    public int ActiveConnections { get; init; }
}
