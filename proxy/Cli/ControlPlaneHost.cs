using System.Net;
using Herald.Xds.ControlPlane;
using Herald.Xds.ControlPlane.Dns;
using Herald.Xds.ControlPlane.Etcd;

namespace Herald.Proxy.Cli;

/// <summary>
/// The control plane's parts in one process: the watched mesh file (or a fixed mesh), the
/// service registry and the ADS server that builds snapshots from both. The registry lives in
/// memory, or in etcd (<c>--store etcd://...</c>): then the mesh served is the one etcd holds,
/// which a replica given a mesh file publishes there, so every replica serves the same state.
/// </summary>
internal sealed class ControlPlaneHost : IAsyncDisposable
{
    private static readonly TimeSpan StoreStartTimeout = TimeSpan.FromSeconds(30);

    private readonly MeshFileWatcher? _watcher;
    private readonly DemandUrlHolder _demandUrl;
    private readonly IDisposable? _extra;
    private readonly DnsImporter _importer;

    private ControlPlaneHost(IServiceRegistry registry, AdsServer ads, MeshFileWatcher? watcher, DemandUrlHolder demandUrl, IDisposable? extra, IPEndPoint? dnsServer, TimeProvider time)
    {
        Registry = registry;
        Ads = ads;
        _watcher = watcher;
        _demandUrl = demandUrl;
        _extra = extra;

        // Services that import their instances from DNS follow the mesh as it is published.
        _importer = new DnsImporter(registry, new DnsClient(dnsServer ?? DnsClient.SystemServer(), TimeSpan.FromSeconds(2)), time);
        _importer.LookupFailed += (source, e) => Console.Error.WriteLine($"herald: DNS import {source}: {e.Message} (keeping its last answer)");
        ads.MeshPublished += _importer.Update;
        _importer.Update(ads.CurrentMesh);
    }

    /// <summary>Demand that data planes holding requests reported (scale from zero), served at /v1/demand.</summary>
    public DemandLog Demand { get; } = new();

    public IServiceRegistry Registry { get; }

    public AdsServer Ads { get; }

    /// <summary>
    /// Tells data planes where to report demand: this control plane's registry API, when it
    /// listens on an address they can dial (not a wildcard).
    /// </summary>
    public void UseApiAddress(System.Net.IPEndPoint api)
    {
        ArgumentNullException.ThrowIfNull(api);
        if (api.Address.Equals(System.Net.IPAddress.Any) || api.Address.Equals(System.Net.IPAddress.IPv6Any))
        {
            return;
        }

        _demandUrl.Value = new Uri($"http://{api}/v1/demand");
        Ads.UpdateMesh(Ads.CurrentMesh with { DemandUrl = _demandUrl.Value });
    }

    /// <summary>
    /// Loads the mesh from <paramref name="path"/> (watched) or <paramref name="fixedMesh"/>, with the
    /// registry in memory or, given <paramref name="store"/> (<c>etcd://HOST:PORT[,...]</c>), in etcd;
    /// null after printing the problem when the mesh file is bad or the store cannot be used. DNS imports
    /// ask <paramref name="dnsServer"/> (default: the first nameserver of /etc/resolv.conf).
    /// </summary>
    public static async Task<ControlPlaneHost?> StartAsync(string? path, MeshConfig? fixedMesh, TimeProvider time, string? store = null, IPEndPoint? dnsServer = null)
    {
        if (store is not null)
        {
            return await StartOnEtcdAsync(path, store, time, dnsServer).ConfigureAwait(false);
        }

        var registry = new ServiceRegistry(time);
        var demandUrl = new DemandUrlHolder();
        AdsServer? ads = null;
        MeshFileWatcher? watcher = null;
        if (path is not null)
        {
            watcher = LoadMeshFile(path, mesh => ads?.UpdateMesh(mesh with { DemandUrl = demandUrl.Value }), time);
            if (watcher is null)
            {
                registry.Dispose();
                return null;
            }

            var current = watcher;
            ads = new AdsServer(() => current.Current with { DemandUrl = demandUrl.Value }, registry, time);
        }
        else
        {
            var mesh = fixedMesh ?? MeshConfig.Empty;
            ads = new AdsServer(() => mesh with { DemandUrl = demandUrl.Value }, registry, time);
        }

        return new ControlPlaneHost(registry, ads, watcher, demandUrl, null, dnsServer, time);
    }

    public ValueTask DisposeAsync()
    {
        Ads.MeshPublished -= _importer.Update;
        _importer.Dispose();
        _watcher?.Dispose();
        Ads.Dispose();
        Registry.Dispose();
        _extra?.Dispose();
        return ValueTask.CompletedTask;
    }

    private static async Task<ControlPlaneHost?> StartOnEtcdAsync(string? path, string store, TimeProvider time, IPEndPoint? dnsServer)
    {
        IReadOnlyList<Uri> endpoints;
        string prefix;
        try
        {
            (endpoints, prefix) = EtcdClient.ParseStoreUrl(store);
        }
        catch (FormatException e)
        {
            Console.Error.WriteLine($"herald: --store: {e.Message}");
            return null;
        }

        var client = new EtcdClient(endpoints);
        var etcd = new EtcdStore(client, prefix, time);
        var demandUrl = new DemandUrlHolder();
        AdsServer? ads = null;
        MeshFileWatcher? watcher = null;
        try
        {
            await etcd.StartAsync(StoreStartTimeout, CancellationToken.None).ConfigureAwait(false);
            if (path is not null)
            {
                watcher = LoadMeshFile(path, _ => PublishInBackground(etcd, watcher!.CurrentText), time);
                if (watcher is null)
                {
                    etcd.Dispose();
                    client.Dispose();
                    return null;
                }

                await etcd.PublishMeshAsync(watcher.CurrentText, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (RegistryUnavailableException e)
        {
            Console.Error.WriteLine($"herald: the etcd store is unavailable: {e.Message}");
            watcher?.Dispose();
            etcd.Dispose();
            client.Dispose();
            return null;
        }

        // Every replica serves the mesh etcd holds; a text that does not load keeps the last good mesh.
        var served = ParseStoredMesh(etcd.MeshText) ?? MeshConfig.Empty;
        etcd.MeshChanged += text =>
        {
            if (ParseStoredMesh(text) is { } mesh)
            {
                Volatile.Write(ref served, mesh);
                ads?.UpdateMesh(mesh with { DemandUrl = demandUrl.Value });
            }
        };
        ads = new AdsServer(() => Volatile.Read(ref served) with { DemandUrl = demandUrl.Value }, etcd, time);
        return new ControlPlaneHost(etcd, ads, watcher, demandUrl, client, dnsServer, time);
    }

    private static MeshConfig? ParseStoredMesh(string? text)
    {
        if (text is null)
        {
            return MeshConfig.Empty;
        }

        try
        {
            return MeshConfigLoader.Load(text);
        }
        catch (MeshConfigException e)
        {
            Console.Error.WriteLine($"herald: the mesh stored in etcd is invalid, keeping the previous one: {e.Message}");
            return null;
        }
    }

    private static void PublishInBackground(EtcdStore etcd, string text) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await etcd.PublishMeshAsync(text, CancellationToken.None).ConfigureAwait(false);
            }
            catch (RegistryUnavailableException e)
            {
                Console.Error.WriteLine($"herald: could not store the edited mesh in etcd (the replicas keep the previous one): {e.Message}");
            }
        });

    private static MeshFileWatcher? LoadMeshFile(string path, Action<MeshConfig> onChange, TimeProvider time)
    {
        try
        {
            return new MeshFileWatcher(path, onChange, time);
        }
        catch (MeshConfigException e)
        {
            Console.Error.WriteLine($"herald: invalid mesh file '{path}': {e.Message}");
        }
        catch (IOException e)
        {
            Console.Error.WriteLine($"herald: cannot read mesh file '{path}': {e.Message}");
        }

        return null;
    }

    private sealed class DemandUrlHolder
    {
        public Uri? Value { get; set; }
    }
}
