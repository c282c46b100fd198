using Herald.Xds.ControlPlane;

namespace Herald.Proxy.Cli;

/// <summary>
/// The control plane's parts in one process: the watched mesh file (or a fixed mesh),
/// the service registry and the ADS server that builds snapshots from both.
/// </summary>
internal sealed class ControlPlaneHost : IAsyncDisposable
{
    private readonly MeshFileWatcher? _watcher;

    private ControlPlaneHost(ServiceRegistry registry, AdsServer ads, MeshFileWatcher? watcher)
    {
        Registry = registry;
        Ads = ads;
        _watcher = watcher;
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
        AdsServer? ads = null;
        MeshFileWatcher? watcher = null;
        if (path is not null)
        {
            try
            {
                watcher = new MeshFileWatcher(path, mesh => ads?.UpdateMesh(mesh), time);
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
            ads = new AdsServer(() => current.Current, registry, time);
        }
        else
        {
            var mesh = fixedMesh ?? MeshConfig.Empty;
            ads = new AdsServer(() => mesh, registry, time);
        }

        return Task.FromResult<ControlPlaneHost?>(new ControlPlaneHost(registry, ads, watcher));
    }

    public ValueTask DisposeAsync()
    {
        _watcher?.Dispose();
        Ads.Dispose();
        Registry.Dispose();
        return ValueTask.CompletedTask;
    }
}
