using System.Net;
using Herald.Proxy.Admin;
using Herald.Proxy.Config;
using Herald.Proxy.Listeners;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Proxy;

/// <summary>
/// The running data plane: clusters, listeners and the admin endpoint, built from one
/// validated <see cref="ProxyConfig"/>.
/// </summary>
internal sealed class DataPlane : IAsyncDisposable
{
    private readonly List<ListenerHost> _listeners = [];
    private readonly UpstreamHttpClients _httpClients = new();
    private AdminServer? _admin;
    private volatile bool _ready;

    private DataPlane(ProxyConfig config, StatsStore stats, TimeProvider time, IDnsResolver dns)
    {
        Config = config;
        Stats = stats;
        Time = time;
        Clusters = new ClusterManager(stats, time, dns);
        LastUpdated = time.GetUtcNow();
    }

    public ProxyConfig Config { get; }

    public StatsStore Stats { get; }

    public TimeProvider Time { get; }

    public ClusterManager Clusters { get; }

    public DateTimeOffset LastUpdated { get; }

    public IReadOnlyList<ListenerHost> Listeners => _listeners;

    public IPEndPoint? AdminAddress => _admin?.BoundAddress;

    public bool IsReady => _ready;

    /// <summary>Completes when <c>POST /quitquitquit</c> asks the process to stop.</summary>
    public TaskCompletionSource QuitRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<DataPlane> StartAsync(ProxyConfig config, IPEndPoint? adminAddress, StatsStore stats, TimeProvider time, IDnsResolver dns, CancellationToken cancellationToken)
    {
        var plane = new DataPlane(config, stats, time, dns);
        try
        {
            if (adminAddress is not null)
            {
                plane._admin = await AdminServer.StartAsync(adminAddress, plane.CreateAdminContext(), cancellationToken).ConfigureAwait(false);
            }

            await plane.Clusters.ApplyAsync(config.Clusters, cancellationToken).ConfigureAwait(false);
            foreach (var listener in config.Listeners)
            {
                plane._listeners.Add(await ListenerHost.StartAsync(listener, stats, plane.Clusters, plane._httpClients, time, cancellationToken).ConfigureAwait(false));
            }

            plane._ready = true;
            return plane;
        }
        catch
        {
            await plane.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private AdminContext CreateAdminContext() => new()
    {
        Stats = Stats,
        IsReady = () => _ready,
        ConfigDump = () => new ConfigDumpView(
            Config.Bootstrap,
            Config.Listeners.Select(l => l.Source).ToList(),
            Config.Clusters.Select(c => c.Source).ToList(),
            [],
            LastUpdated),
        Clusters = () => Clusters.Clusters
            .Select(c => new ClusterView(
                c.Name,
                c.Endpoints.Select(e => new EndpointView(e.AddressText, e.Weight, e.ActiveRequests, 0, true)).ToList()))
            .ToList(),
        OnQuitQuitQuit = _ =>
        {
            QuitRequested.TrySetResult();
            return Task.CompletedTask;
        },
    };

    public async ValueTask DisposeAsync()
    {
        _ready = false;
        foreach (var listener in _listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        await Clusters.DisposeAsync().ConfigureAwait(false);
        _httpClients.Dispose();
        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }
    }
}
