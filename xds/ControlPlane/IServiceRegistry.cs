namespace Herald.Xds.ControlPlane;

/// <summary>
/// Where the control plane keeps service instances: in memory (<see cref="ServiceRegistry"/>,
/// the default) or in etcd v3 (<see cref="Etcd.EtcdStore"/>, for several replicas). Instances
/// imported from other registries (DNS) are held beside them, per source, and appear in the view.
/// </summary>
public interface IServiceRegistry : IDisposable
{
    /// <summary>Raised after every change, outside any lock.</summary>
    event Action? Changed;

    /// <summary>Rises with every change this process observed (Consul-style blocking index).</summary>
    long Index { get; }

    RegistryView View();

    /// <summary>Adds an instance and returns its id. The address must be an IP literal.</summary>
    ValueTask<string> RegisterAsync(string service, string address, int port, IReadOnlyDictionary<string, string>? labels, string? version, TimeSpan? ttl, CancellationToken cancellationToken);

    /// <summary>Extends the instance's life by its TTL. False when it is unknown (expired or never registered).</summary>
    ValueTask<bool> HeartbeatAsync(string id, CancellationToken cancellationToken);

    ValueTask<bool> DeregisterAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Returns at once when the index is already past <paramref name="afterIndex"/>, else when it
    /// moves or after <paramref name="maxWait"/>, with the view then.
    /// </summary>
    Task<RegistryView> WaitForChangeAsync(long afterIndex, TimeSpan maxWait, CancellationToken cancellationToken);

    /// <summary>Replaces every instance imported from <paramref name="source"/> (for example <c>dns:_http._tcp.web.example</c>).</summary>
    void ReplaceImported(string source, IReadOnlyList<ServiceInstance> instances);
}
