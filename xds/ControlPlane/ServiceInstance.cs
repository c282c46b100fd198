namespace Herald.Xds.ControlPlane;

/// <summary>One registered instance of a service. <see cref="Ttl"/> null means it never expires.</summary>
public sealed record ServiceInstance(
    string Id,
    string Service,
    string Address,
    int Port,
    IReadOnlyDictionary<string, string> Labels,
    string? Version,
    TimeSpan? Ttl,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? ExpiresAt);
