namespace Herald.Xds.ControlPlane;

/// <summary>
/// One registered instance of a service. <see cref="Ttl"/> null means it never expires.
/// <see cref="Source"/> names the registry it was imported from (for example
/// <c>dns:_http._tcp.web.example</c>); null for instances registered with Herald itself.
/// </summary>
public sealed record ServiceInstance(
    string Id,
    string Service,
    string Address,
    int Port,
    IReadOnlyDictionary<string, string> Labels,
    string? Version,
    TimeSpan? Ttl,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? ExpiresAt)
{
    public string? Source { get; init; }
}
