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
    private readonly TaskCompletionSource _firstReady = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _healthCheckFailed;
    private volatile bool _draining;

    // Listeners a config change removed, draining their connections before they go.
    private readonly HashSet<ListenerHost> _retiring = [];

    // After a drain of every listener (or every inbound one) none of that kind starts again, as in Envoy.
    private bool _stoppedAll;
    private bool _stoppedInbound;
    private readonly Gauge _serverLive;
    private readonly Gauge _serverState;

    private DataPlane(ProxyConfig config, StatsStore stats, TimeProvider time, IDnsResolver dns)
    {
        _config = config;
        Stats = stats;
        Time = time;
        Clusters = new ClusterManager(stats, time, dns);
        _lastUpdated = time.GetUtcNow();
        _serverLive = stats.Gauge(StatKey.Global("server.live"));
        _serverState = stats.Gauge(StatKey.Global("server.state"));
        stats.Gauge(StatKey.Global("server.total_connections"));
        stats.Gauge(StatKey.Global("listener_manager.total_listeners_draining"));
        PublishState();
    }

    /// <summary>Envoy's default drain time is 600 s; Herald's is 30 s, Kubernetes' default grace period.</summary>
    public static readonly TimeSpan DefaultDrainTime = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a drain lets connections finish before cutting them: <c>--drain-time-s</c>. Applies
    /// to SIGTERM, <c>/drain_listeners</c> and listeners removed or moved by a config change.
    /// </summary>
    public TimeSpan DrainTime { get; set; } = DefaultDrainTime;

    /// <summary>Envoy's server state: DRAINING once a drain started or the health check was failed.</summary>
    public ServerState State =>
        !_ready ? ServerState.PreInitializing
        : _draining || _healthCheckFailed ? ServerState.Draining
        : ServerState.Live;

    private void PublishState()
    {
        var state = State;
        _serverState.Set((long)state);
        _serverLive.Set(state == ServerState.Live ? 1 : 0);
    }

    /// <summary><c>POST /healthcheck/fail</c> and <c>/healthcheck/ok</c>: <c>/ready</c> answers 503 while failed.</summary>
    public void SetHealthCheckFailed(bool failed)
    {
        _healthCheckFailed = failed;
        PublishState();
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
    public void MarkReady()
    {
        _ready = true;
        PublishState();
        _firstReady.TrySetResult();
    }

    /// <summary>Completes the first time the data plane is marked ready.</summary>
    public Task FirstReady => _firstReady.Task;

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
            plane.PublishState();
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
                if (host.IsDraining)
                {
                    // Drained on request: it stays stopped, and no replacement starts.
                    next.Add(host);
                    continue;
                }

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

            if (_stoppedAll || (_stoppedInbound && IsInbound(listener)))
            {
                continue;
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
            Retire(host);
        }
    }

    private static bool IsInbound(ListenerConfig listener) =>
        listener.Source.TrafficDirection == Envoy.Config.Core.V3.TrafficDirection.Inbound;

    // A listener removed or moved by a config change stops accepting at once; its open
    // connections finish (Connection: close, GOAWAY) within the drain time instead of being cut.
    private void Retire(ListenerHost host)
    {
        lock (_retiring)
        {
            _retiring.Add(host);
        }

        _ = RetireAsync(host);
    }

    private async Task RetireAsync(ListenerHost host)
    {
        using var deadline = new CancellationTokenSource(DrainTime, Time);
        try
        {
            await host.DrainAsync(deadline.Token).ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Observability.ProcessLog.Error($"draining listener '{host.Config.Name}'", e);
        }
        finally
        {
            lock (_retiring)
            {
                _retiring.Remove(host);
            }
        }
    }

    /// <summary>
    /// Drains every listener (or only those with <c>traffic_direction: INBOUND</c>): each stops
    /// accepting at once, and its connections finish within <see cref="DrainTime"/> (HTTP/1.1
    /// <c>Connection: close</c>, HTTP/2 GOAWAY), after which the rest are cut. The server state
    /// becomes DRAINING, so <c>/ready</c> answers 503. Completes when no connection remains on
    /// the drained listeners (and on listeners retired by config changes) or at the deadline;
    /// <paramref name="cut"/> ends the wait early and cuts what is left.
    /// </summary>
    public async Task DrainListenersAsync(bool inboundOnly, CancellationToken cut = default)
    {
        List<ListenerHost> hosts;
        await _applyLock.WaitAsync(cut).ConfigureAwait(false);
        try
        {
            _draining = true;
            PublishState();
            if (inboundOnly)
            {
                _stoppedInbound = true;
            }
            else
            {
                _stoppedAll = true;
            }

            lock (_listeners)
            {
                hosts = inboundOnly ? _listeners.FindAll(l => IsInbound(l.Config)) : [.. _listeners];
            }
        }
        finally
        {
            _applyLock.Release();
        }

        using var timer = new CancellationTokenSource(DrainTime, Time);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cut);
        var drains = new List<Task>(hosts.Count + 1);
        foreach (var host in hosts)
        {
            drains.Add(host.DrainAsync(deadline.Token));
        }

        lock (_retiring)
        {
            foreach (var host in _retiring)
            {
                drains.Add(host.DrainAsync(deadline.Token));
            }
        }

        await Task.WhenAll(drains).ConfigureAwait(false);
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
        State = () => State,
        SetHealthCheckFailed = SetHealthCheckFailed,
        DrainListeners = inboundOnly =>
        {
            _ = DrainInBackgroundAsync(inboundOnly);
            return Task.CompletedTask;
        },
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

    private async Task DrainInBackgroundAsync(bool inboundOnly)
    {
        try
        {
            await DrainListenersAsync(inboundOnly).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // Shut down meanwhile.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _ready = false;
        List<ListenerHost> retiring;
        lock (_retiring)
        {
            retiring = [.. _retiring];
        }

        foreach (var listener in retiring)
        {
            await listener.DisposeAsync().ConfigureAwait(false);
        }

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
