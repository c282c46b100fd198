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
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private AdminServer? _admin;
    private ProxyConfig _config;
    private DateTimeOffset _lastUpdated;
    private volatile bool _ready;

    private DataPlane(ProxyConfig config, StatsStore stats, TimeProvider time, IDnsResolver dns)
    {
        _config = config;
        Stats = stats;
        Time = time;
        Clusters = new ClusterManager(stats, time, dns);
        _lastUpdated = time.GetUtcNow();
    }

    public ProxyConfig Config => Volatile.Read(ref _config);

    /// <summary>Supplies ADS status (versions, last NACK) for /config_dump when a client runs.</summary>
    public Func<Herald.Xds.Client.XdsClientStatus>? XdsStatus { get; set; }

    public StatsStore Stats { get; }

    public TimeProvider Time { get; }

    public ClusterManager Clusters { get; }

    public DateTimeOffset LastUpdated => _lastUpdated;

    public IReadOnlyList<ListenerHost> Listeners
    {
        get
        {
            lock (_listeners)
            {
                return [.. _listeners];
            }
        }
    }

    /// <summary>Marks the data plane ready (a dynamic bootstrap waits for its first config).</summary>
    public void MarkReady() => _ready = true;

    public IPEndPoint? AdminAddress => _admin?.BoundAddress;

    public bool IsReady => _ready;

    /// <summary>Completes when <c>POST /quitquitquit</c> asks the process to stop.</summary>
    public TaskCompletionSource QuitRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<DataPlane> StartAsync(ProxyConfig config, IPEndPoint? adminAddress, StatsStore stats, TimeProvider time, IDnsResolver dns, CancellationToken cancellationToken, bool readyWhenStarted = true)
    {
        var plane = new DataPlane(config, stats, time, dns);
        try
        {
            if (adminAddress is not null)
            {
                plane._admin = await AdminServer.StartAsync(adminAddress, plane.CreateAdminContext(), cancellationToken).ConfigureAwait(false);
            }

            await plane.ApplyCoreAsync(config, cancellationToken).ConfigureAwait(false);
            plane._ready = readyWhenStarted;
            return plane;
        }
        catch
        {
            await plane.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Swaps in a new validated config, rebuilding only what changed: clusters by their
    /// proto, endpoint sets of EDS clusters, listeners by name (updated in place when their
    /// address stays, so open connections see new routes).
    /// </summary>
    public async Task ApplyAsync(ProxyConfig config, CancellationToken cancellationToken)
    {
        await _applyLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await ApplyCoreAsync(config, cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _config, config);
            _lastUpdated = Time.GetUtcNow();
        }
        finally
        {
            _applyLock.Release();
        }
    }

    private async Task ApplyCoreAsync(ProxyConfig config, CancellationToken cancellationToken)
    {
        // Make before break: clusters and endpoints first, then listeners.
        await Clusters.ApplyAsync(config.Clusters, cancellationToken).ConfigureAwait(false);
        foreach (var cluster in config.Clusters)
        {
            if (cluster.Type == DiscoveryType.Eds)
            {
                Clusters.Get(cluster.Name)?.UpdateEndpoints(cluster.Endpoints);
            }
        }

        List<ListenerHost> current;
        lock (_listeners)
        {
            current = [.. _listeners];
        }

        var byName = current.ToDictionary(l => l.Config.Name, StringComparer.Ordinal);
        var next = new List<ListenerHost>(config.Listeners.Count);
        var retired = new List<ListenerHost>();
        foreach (var listener in config.Listeners)
        {
            if (byName.Remove(listener.Name, out var host))
            {
                if (host.Config.Address.Equals(listener.Address))
                {
                    if (!ReferenceEquals(host.Config, listener))
                    {
                        host.Update(listener);
                    }

                    next.Add(host);
                    continue;
                }

                retired.Add(host);
            }

            next.Add(await ListenerHost.StartAsync(listener, Stats, Clusters, _httpClients, Time, cancellationToken).ConfigureAwait(false));
        }

        retired.AddRange(byName.Values);
        lock (_listeners)
        {
            _listeners.Clear();
            _listeners.AddRange(next);
        }

        foreach (var host in retired)
        {
            await host.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static IEnumerable<Envoy.Config.Route.V3.RouteConfiguration> InlineRouteConfigs(ProxyConfig config)
    {
        foreach (var listener in config.Listeners)
        {
            foreach (var chain in listener.FilterChains)
            {
                if (chain.Http?.Source.RouteConfig is { } routes)
                {
                    yield return routes;
                }
            }
        }
    }

    private AdminContext CreateAdminContext() => new()
    {
        Stats = Stats,
        IsReady = () => _ready,
        ConfigDump = () => new ConfigDumpView(
            Config.Bootstrap,
            Config.Listeners.Where(l => !Config.Dynamic.Listeners.ContainsKey(l.Name)).Select(l => l.Source).ToList(),
            Config.Clusters.Where(c => !Config.Dynamic.Clusters.ContainsKey(c.Name)).Select(c => c.Source).ToList(),
            [.. InlineRouteConfigs(Config)],
            LastUpdated)
        {
            Dynamic = XdsStatus is { } status ? new XdsDumpView(Config.Dynamic, status()) : null,
        },
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
        foreach (var listener in Listeners)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

        _applyLock.Dispose();

        await Clusters.DisposeAsync().ConfigureAwait(false);
        _httpClients.Dispose();
        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }
    }
}
