using System.Net;

namespace Herald.Xds.ControlPlane;

/// <summary>
/// The in-memory service registry. Every change (register, deregister, expiry) raises the
/// index by one; watchers block until the index passes theirs, as Consul's do. Instances
/// with a TTL leave when no heartbeat arrives within it, checked by one timer armed for the
/// earliest expiry.
/// </summary>
public sealed class ServiceRegistry : IServiceRegistry
{
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServiceInstance> _instances = new(StringComparer.Ordinal);
    private readonly ITimer _expiryTimer;
    private readonly RegistryChanges _changes;
    private bool _disposed;

    public ServiceRegistry(TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _changes = new RegistryChanges(_lock, time);
        _expiryTimer = time.CreateTimer(_ => Sweep(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Raised after every change, outside the registry's lock.</summary>
    public event Action? Changed;

    public long Index => _changes.Index;

    /// <summary>Adds an instance and returns its id. The address must be an IP literal.</summary>
    public string Register(string service, string address, int port, IReadOnlyDictionary<string, string>? labels = null, string? version = null, TimeSpan? ttl = null)
    {
        var ip = ValidateInstance(service, address, port, version, ttl);
        var id = NewId(service);
        var now = _time.GetUtcNow();
        var instance = new ServiceInstance(
            id,
            service,
            ip.ToString(),
            port,
            new SortedDictionary<string, string>(labels?.ToDictionary() ?? [], StringComparer.Ordinal),
            version,
            ttl,
            now,
            ttl is null ? null : now + ttl.Value);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _instances[id] = instance;
            ChangedLocked();
            ArmLocked(now);
        }

        RaiseChanged();
        return id;
    }

    public ValueTask<string> RegisterAsync(string service, string address, int port, IReadOnlyDictionary<string, string>? labels, string? version, TimeSpan? ttl, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Register(service, address, port, labels, version, ttl));

    public ValueTask<bool> HeartbeatAsync(string id, CancellationToken cancellationToken) => ValueTask.FromResult(Heartbeat(id));

    public ValueTask<bool> DeregisterAsync(string id, CancellationToken cancellationToken) => ValueTask.FromResult(Deregister(id));

    public void ReplaceImported(string source, IReadOnlyList<ServiceInstance> instances)
    {
        lock (_lock)
        {
            if (_disposed || !_changes.ReplaceImportedLocked(source, instances))
            {
                return;
            }
        }

        RaiseChanged();
    }

    /// <summary>Checks an instance's fields as <see cref="Register"/> does; returns the parsed address.</summary>
    internal static IPAddress ValidateInstance(string service, string address, int port, string? version, TimeSpan? ttl)
    {
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (!IPAddress.TryParse(address, out var ip))
        {
            throw new ArgumentException($"'{address}' is not an IP address", nameof(address));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        if (ttl is { } t && t <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), "a TTL is positive, or null for no expiry");
        }

        if (version is not null && !SemVersion.TryParse(version, out _))
        {
            throw new ArgumentException($"'{version}' is not a semantic version such as 1.4.2", nameof(version));
        }

        return ip;
    }

    /// <summary>A new instance id: the service's name and 12 random hex digits.</summary>
    internal static string NewId(string service) => $"{service}-{Guid.NewGuid():N}"[..(service.Length + 13)];

    /// <summary>Extends the instance's life by its TTL. False when it is unknown (expired or never registered).</summary>
    public bool Heartbeat(string id)
    {
        lock (_lock)
        {
            if (!_instances.TryGetValue(id, out var instance))
            {
                return false;
            }

            if (instance.Ttl is { } ttl)
            {
                var now = _time.GetUtcNow();
                _instances[id] = instance with { ExpiresAt = now + ttl };
                ArmLocked(now);
            }

            return true;
        }
    }

    public bool Deregister(string id)
    {
        lock (_lock)
        {
            if (!_instances.Remove(id))
            {
                return false;
            }

            ChangedLocked();
        }

        RaiseChanged();
        return true;
    }

    public RegistryView View()
    {
        lock (_lock)
        {
            return _changes.ViewLocked(_instances.Values);
        }
    }

    public IReadOnlyList<string> ListServices() => View().Services;

    public IReadOnlyList<ServiceInstance> ListInstances(string service) => View().InstancesOf(service);

    /// <summary>
    /// Returns at once when the index is already past <paramref name="afterIndex"/>, else when it
    /// moves or after <paramref name="maxWait"/> (measured on the registry's clock), with the view then.
    /// </summary>
    public Task<RegistryView> WaitForChangeAsync(long afterIndex, TimeSpan maxWait, CancellationToken cancellationToken) =>
        _changes.WaitForChangeAsync(afterIndex, maxWait, View, cancellationToken);

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
        }

        _expiryTimer.Dispose();
    }

    private void Sweep()
    {
        var removed = false;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow();
            List<string>? expired = null;
            foreach (var (id, instance) in _instances)
            {
                if (instance.ExpiresAt is { } at && at <= now)
                {
                    (expired ??= []).Add(id);
                }
            }

            if (expired is not null)
            {
                foreach (var id in expired)
                {
                    _instances.Remove(id);
                }

                ChangedLocked();
                removed = true;
            }

            ArmLocked(now);
        }

        if (removed)
        {
            RaiseChanged();
        }
    }

    private void ArmLocked(DateTimeOffset now)
    {
        DateTimeOffset? earliest = null;
        foreach (var instance in _instances.Values)
        {
            if (instance.ExpiresAt is { } at && (earliest is null || at < earliest))
            {
                earliest = at;
            }
        }

        var due = earliest is { } e ? (e > now ? e - now : TimeSpan.Zero) : Timeout.InfiniteTimeSpan;
        _expiryTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    private void ChangedLocked() => _changes.ChangedLocked();

    private void RaiseChanged() => Changed?.Invoke();
}
