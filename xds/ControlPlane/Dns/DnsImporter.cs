using System.Net;

namespace Herald.Xds.ControlPlane.Dns;

/// <summary>
/// Imports the instances of mesh services that name a DNS source (<c>import: {dns: NAME}</c> or
/// <c>import: {dns_srv: NAME}</c>) into the registry's view, marked with their source. Each source
/// is resolved by its own loop and resolved again when the shortest TTL of its records runs out
/// (at least <see cref="MinInterval"/>, at most <see cref="MaxInterval"/>). A failed lookup keeps
/// the last answer and tries again after <see cref="RetryInterval"/>; a name that no longer
/// exists empties the source.
/// </summary>
public sealed class DnsImporter : IDisposable
{
    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxInterval = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly IServiceRegistry _registry;
    private readonly DnsClient _dns;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, (CancellationTokenSource Stop, Task Loop)> _loops = new(StringComparer.Ordinal);
    private bool _disposed;

    public DnsImporter(IServiceRegistry registry, DnsClient dns, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(dns);
        ArgumentNullException.ThrowIfNull(time);
        _registry = registry;
        _dns = dns;
        _time = time;
    }

    /// <summary>Raised when a lookup fails (the source keeps its last answer).</summary>
    public event Action<string, DnsException>? LookupFailed;

    /// <summary>Starts loops for the mesh's new imports and stops (and empties) the ones it no longer has.</summary>
    public void Update(MeshConfig mesh)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        var wanted = new Dictionary<string, (MeshService Service, MeshImport Import)>(StringComparer.Ordinal);
        foreach (var service in mesh.Services)
        {
            if (service.Import is { } import)
            {
                wanted[Key(service, import)] = (service, import);
            }
        }

        List<string> stopped = [];
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            foreach (var (key, loop) in _loops.ToList())
            {
                if (!wanted.ContainsKey(key))
                {
                    loop.Stop.Cancel();
                    _loops.Remove(key);
                    stopped.Add(key);
                }
            }

            foreach (var (key, (service, import)) in wanted)
            {
                if (!_loops.ContainsKey(key))
                {
                    var stop = new CancellationTokenSource();
                    _loops[key] = (stop, Task.Run(() => RunAsync(key, service, import, stop.Token), CancellationToken.None));
                }
            }
        }

        foreach (var key in stopped)
        {
            _registry.ReplaceImported(key, []);
        }
    }

    /// <summary>Resolves one source once: the instances it yields and how long they may be kept.</summary>
    public async Task<(IReadOnlyList<ServiceInstance> Instances, TimeSpan Ttl)> ResolveAsync(MeshService service, MeshImport import, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(import);
        var instances = new List<ServiceInstance>();
        var ttl = MaxInterval;
        if (import.Srv)
        {
            foreach (var srv in await _dns.QueryAsync(import.Name, DnsClient.TypeSrv, cancellationToken).ConfigureAwait(false))
            {
                ttl = Shorter(ttl, srv.Ttl);
                foreach (var address in await AddressesAsync(srv.Target!, cancellationToken).ConfigureAwait(false))
                {
                    ttl = Shorter(ttl, address.Ttl);
                    instances.Add(Instance(service, import, address.Address!, srv.Port));
                }
            }
        }
        else
        {
            var port = service.Ports[0].InstancePort;
            foreach (var address in await AddressesAsync(import.Name, cancellationToken).ConfigureAwait(false))
            {
                ttl = Shorter(ttl, address.Ttl);
                instances.Add(Instance(service, import, address.Address!, port));
            }
        }

        instances.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
        return (instances.DistinctBy(i => i.Id).ToList(), ttl < MinInterval ? MinInterval : ttl);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            foreach (var loop in _loops.Values)
            {
                loop.Stop.Cancel();
            }

            _loops.Clear();
        }
    }

    private static string Key(MeshService service, MeshImport import) =>
        $"{service.Name}:{service.Ports[0].InstancePort}:{import.Source}";

    private static TimeSpan Shorter(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static ServiceInstance Instance(MeshService service, MeshImport import, IPAddress address, int port) =>
        new($"{import.Source}/{address}:{port}", service.Name, address.ToString(), port, new SortedDictionary<string, string>(StringComparer.Ordinal), null, null, default, null)
        {
            Source = import.Source,
        };

    private async Task<List<DnsRecord>> AddressesAsync(string name, CancellationToken cancellationToken)
    {
        var records = new List<DnsRecord>(await _dns.QueryAsync(name, DnsClient.TypeA, cancellationToken).ConfigureAwait(false));
        records.AddRange(await _dns.QueryAsync(name, DnsClient.TypeAaaa, cancellationToken).ConfigureAwait(false));
        return records;
    }

    private async Task RunAsync(string key, MeshService service, MeshImport import, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                TimeSpan next;
                try
                {
                    var (instances, ttl) = await ResolveAsync(service, import, cancellationToken).ConfigureAwait(false);
                    lock (_lock)
                    {
                        // A loop stopped meanwhile must not bring its instances back.
                        if (cancellationToken.IsCancellationRequested)
                        {
                            return;
                        }

                        _registry.ReplaceImported(key, instances);
                    }

                    next = ttl > MaxInterval ? MaxInterval : ttl;
                }
                catch (DnsException e)
                {
                    LookupFailed?.Invoke(import.Source, e);
                    next = RetryInterval;
                }

                await Task.Delay(next, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
