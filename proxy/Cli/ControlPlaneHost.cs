using Herald.Xds.ControlPlane;

namespace Herald.Proxy.Cli;

/// <summary>
/// The control plane's parts in one process: the watched mesh file (or a fixed mesh),
/// the service registry and the ADS server that builds snapshots from both.
/// </summary>
internal sealed class ControlPlaneHost : IAsyncDisposable
{
    private readonly MeshFileWatcher? _watcher;
    private readonly DemandUrlHolder _demandUrl;

    private ControlPlaneHost(ServiceRegistry registry, AdsServer ads, MeshFileWatcher? watcher, DemandUrlHolder demandUrl)
    {
        Registry = registry;
        Ads = ads;
        _watcher = watcher;
        _demandUrl = demandUrl;
    }

    /// <summary>Demand that data planes holding requests reported (scale from zero), served at /v1/demand.</summary>
    public DemandLog Demand { get; } = new();

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

    private sealed class DemandUrlHolder
    {
        public Uri? Value { get; set; }
    }

    public ServiceRegistry Registry { get; }

    public AdsServer Ads { get; }

    /// <summary>
    /// Loads the mesh from <paramref name="path"/> (watched) or <paramref name="fixedMesh"/>;
    /// null after printing the problem when the mesh file is bad.
    /// </summary>
    public static Task<ControlPlaneHost?> StartAsync(string? path, MeshConfig? fixedMesh, TimeProvider time)
    {
        var registry = new ServiceRegistry(time);
        var demandUrl = new DemandUrlHolder();
        AdsServer? ads = null;
        MeshFileWatcher? watcher = null;
        if (path is not null)
        {
            try
            {
                watcher = new MeshFileWatcher(path, mesh => ads?.UpdateMesh(mesh with { DemandUrl = demandUrl.Value }), time);
            }
            catch (MeshConfigException e)
            {
                Console.Error.WriteLine($"herald: invalid mesh file '{path}': {e.Message}");
                registry.Dispose();
                return Task.FromResult<ControlPlaneHost?>(null);
            }
            catch (IOException e)
            {
                Console.Error.WriteLine($"herald: cannot read mesh file '{path}': {e.Message}");
                registry.Dispose();
                return Task.FromResult<ControlPlaneHost?>(null);
            }

            var current = watcher;
            ads = new AdsServer(() => current.Current with { DemandUrl = demandUrl.Value }, registry, time);
        }
        else
        {
            var mesh = fixedMesh ?? MeshConfig.Empty;
            ads = new AdsServer(() => mesh with { DemandUrl = demandUrl.Value }, registry, time);
        }

        return Task.FromResult<ControlPlaneHost?>(new ControlPlaneHost(registry, ads, watcher, demandUrl));
    }

    public ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        Ads.Dispose();
        Registry.Dispose();
        return ValueTask.CompletedTask;
    }
}
