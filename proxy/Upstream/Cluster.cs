using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Net;
using System.Net.Sockets;
using Herald.Proxy.Activation;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream.Health;

namespace Herald.Proxy.Upstream;

/// <summary>
/// A live cluster: its current healthy endpoints and the load balancer over them, swapped
/// together atomically. DNS clusters re-resolve on a timer; EDS calls <see cref="UpdateEndpoints"/>.
/// </summary>
internal sealed class Cluster : IAsyncDisposable
{
    private static readonly TimeSpan MaxResolveTime = TimeSpan.FromSeconds(5);

    private readonly TimeProvider _time;
    private readonly IDnsResolver _dns;
    private readonly Random? _random;
    private readonly Lock _updateLock = new();
    private readonly CancellationTokenSource _disposed = new();

    // Guarded by _updateLock: every endpoint object by address, so updates can keep them.
    private readonly Dictionary<IPEndPoint, UpstreamEndpoint> _byAddress = [];

    // ORIGINAL_DST: a host per destination seen, dropped after a cleanup interval unused.
    private readonly ConcurrentDictionary<IPEndPoint, OriginalHost> _originalHosts = new();

    private readonly HttpDemandSignal? _demandSignal;
    private readonly OutlierDetector? _outlier;
    private readonly HealthChecker? _healthChecker;
    private EndpointSet _current;

    // Guarded by _updateLock: the endpoints in the cluster (EDS-healthy), in order; the load
    // balancer gets those of them that are available (not ejected, not failing health checks).
    private ImmutableArray<UpstreamEndpoint> _members = [];
    private ITimer? _refreshTimer;
    private Task _refresh = Task.CompletedTask;
    private int _refreshing;
    private int _started;
    private string? _lastResolveError;

    /// <param name="random">For tests: the load balancers' random source (must be thread-safe if picks run concurrently).</param>
    /// <param name="healthProbe">For tests: the active health check to run instead of the configured one.</param>
    public Cluster(ClusterConfig config, StatsStore stats, TimeProvider time, IDnsResolver dns, Random? random = null, IHealthProbe? healthProbe = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        Stats = new ClusterStats(stats, config.Name);
        Breakers = new CircuitBreakers(config.CircuitBreakers, stats, config.Name);
        _time = time;
        _dns = dns;
        _random = random;
        _current = new EndpointSet([], LoadBalancerFactory.Create(config, [], random));
        if (config.Activation is { } policy)
        {
            var activationStats = new ActivationStats(stats, config.Name);
            _demandSignal = new HttpDemandSignal(policy, activationStats, time);
            Gate = new ActivationGate(config.Name, policy, activationStats, _demandSignal, time);
            Gate.SetEndpointCount(0);
        }

        if (config.OutlierDetection is { } outlier)
        {
            _outlier = new OutlierDetector(outlier, stats, config.Name, time, random);
            _outlier.Changed += RefreshAvailability;
        }

        if (config.HealthCheck is { } healthCheck)
        {
            _healthChecker = new HealthChecker(
                healthCheck,
                healthProbe ?? CreateProbe(healthCheck, config.Name),
                new HealthCheckStats(stats, config.Name),
                () => Stats.UpstreamCxTotal.Value > 0 || Stats.UpstreamRqTotal.Value > 0,
                time,
                random);
            _healthChecker.Changed += RefreshAvailability;
            if (_outlier is not null)
            {
                _healthChecker.Passed += _outlier.OnActiveHealthCheckSuccess;
            }
        }
    }

    /// <summary>Outlier detection, when the cluster has <c>outlier_detection</c>.</summary>
    internal OutlierDetector? OutlierDetector => _outlier;

    /// <summary>Active health checking, when the cluster has <c>health_checks</c>.</summary>
    internal HealthChecker? HealthChecker => _healthChecker;

    /// <summary>Where requests wait for capacity when the cluster has an activation policy; null otherwise.</summary>
    public ActivationGate? Gate { get; }

    public event Action<Cluster>? EndpointsChanged;

    public string Name => Config.Name;

    public ClusterConfig Config { get; }

    public ClusterStats Stats { get; }

    /// <summary>The cluster's circuit breakers (Envoy's defaults when none are configured).</summary>
    public CircuitBreakers Breakers { get; }

    /// <summary>
    /// Called once per upstream attempt when its outcome for <paramref name="endpoint"/> is
    /// known (response head status, or how it failed), before any retry decision. Outlier
    /// detection hooks in here; null costs nothing.
    /// </summary>
    public Action<UpstreamEndpoint, UpstreamAttemptResult>? AttemptObserver { get; set; }

    /// <summary>Reports one attempt's outcome (see <see cref="AttemptObserver"/>).</summary>
    public void ReportAttempt(UpstreamEndpoint endpoint, UpstreamAttemptResult result)
    {
        ArgumentNullException.ThrowIfNull(endpoint);

        // Outlier detection judges every attempt; a breaker's refusal is not the host's fault.
        if (result.IsResponse)
        {
            endpoint.ReportOutcome(result.StatusCode);
        }
        else
        {
            endpoint.ReportFailure(result.Failure);
        }

        AttemptObserver?.Invoke(endpoint, result);
    }

    /// <summary>The current healthy endpoints (for ORIGINAL_DST, the destinations in use).</summary>
    public ImmutableArray<UpstreamEndpoint> Endpoints => Config.Type == DiscoveryType.OriginalDst
        ? [.. _originalHosts.Values.Select(h => h.Endpoint).OrderBy(e => e.AddressText, StringComparer.Ordinal)]
        : Volatile.Read(ref _current).Endpoints;

    /// <summary>Why the last DNS resolution failed, or null after a success.</summary>
    public string? LastResolveError => Volatile.Read(ref _lastResolveError);

    /// <summary>An endpoint for a request, or null (counted as upstream_cx_none_healthy) when there is none.</summary>
    public UpstreamEndpoint? Pick(in LoadBalancerContext context)
    {
        var endpoint = Config.Type == DiscoveryType.OriginalDst
            ? PickOriginalDestination(context.OriginalDestination)
            : Volatile.Read(ref _current).LoadBalancer.Pick(in context);
        if (endpoint is null)
        {
            Stats.UpstreamCxNoneHealthy.Increment();
        }

        return endpoint;
    }

    /// <summary>
    /// An endpoint for a retry, as Envoy's previous_hosts predicate: a host not tried yet when the
    /// load balancer offers one within a few picks; with one host (or a hash that pins one) it is reused.
    /// </summary>
    public UpstreamEndpoint? PickForRetry(in LoadBalancerContext context, List<UpstreamEndpoint> tried)
    {
        UpstreamEndpoint? candidate = null;
        var picks = Math.Max(3, tried.Count + 2);
        for (var i = 0; i < picks; i++)
        {
            candidate = Pick(in context);
            if (candidate is null || !tried.Contains(candidate))
            {
                return candidate;
            }
        }

        return candidate;
    }

    /// <summary>
    /// STATIC: takes the configured endpoints at once. STRICT_DNS and LOGICAL_DNS: completes
    /// after the first resolution (successful or not), then re-resolves every dns_refresh_rate.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        switch (Config.Type)
        {
            case DiscoveryType.Static:
                UpdateEndpoints(Config.Endpoints);
                await WaitForFirstHealthChecksAsync(cancellationToken);
                break;
            case DiscoveryType.StrictDns:
            case DiscoveryType.LogicalDns:
                await ResolveAndApplyAsync(cancellationToken);
                await WaitForFirstHealthChecksAsync(cancellationToken);
                lock (_updateLock)
                {
                    if (!_disposed.IsCancellationRequested)
                    {
                        _refreshTimer = _time.CreateTimer(
                            static state => ((Cluster)state!).OnRefreshTimer(), this, Config.DnsRefreshRate, Config.DnsRefreshRate);
                    }
                }

                break;
            case DiscoveryType.OriginalDst:
                lock (_updateLock)
                {
                    if (!_disposed.IsCancellationRequested)
                    {
                        _refreshTimer = _time.CreateTimer(
                            static state => ((Cluster)state!).SweepOriginalHosts(), this, Config.CleanupInterval, Config.CleanupInterval);
                    }
                }

                break;
            default:
                // EDS: endpoints arrive through UpdateEndpoints.
                break;
        }
    }

    /// <summary>
    /// Replaces the endpoint set (EDS, or a DNS refresh). Hosts must be IP literals. Endpoint
    /// objects, and their pools, are kept for addresses that stay; removed ones are disposed.
    /// </summary>
    public void UpdateEndpoints(IReadOnlyList<EndpointConfig> endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var resolved = new List<ResolvedEndpoint>(endpoints.Count);
        foreach (var endpoint in endpoints)
        {
            if (!IPAddress.TryParse(endpoint.Host, out var ip))
            {
                throw new ArgumentException($"endpoint host '{endpoint.Host}' is not an IP address", nameof(endpoints));
            }

            resolved.Add(new ResolvedEndpoint(new IPEndPoint(ip, endpoint.Port), endpoint.Host, endpoint.Weight, endpoint.Healthy));
        }

        Apply(resolved);
    }

    public async ValueTask DisposeAsync()
    {
        UpstreamEndpoint[] endpoints;
        lock (_updateLock)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }

            _disposed.Cancel();
            _refreshTimer?.Dispose();
            _outlier?.Dispose();
            endpoints = [.. _byAddress.Values, .. _originalHosts.Values.Select(h => h.Endpoint)];
            _byAddress.Clear();
            _originalHosts.Clear();
        }

        try
        {
            await _refresh;
        }
        catch (OperationCanceledException)
        {
            // Expected: the refresh was cancelled by disposal.
        }

        if (_healthChecker is not null)
        {
            await _healthChecker.DisposeAsync();
        }

        foreach (var endpoint in endpoints)
        {
            await endpoint.DisposeAsync();
        }

        Gate?.Dispose();
        _demandSignal?.Dispose();
        _disposed.Dispose();
    }

    /// <summary>
    /// The host for a redirected connection's original destination, made on first use. None
    /// when the connection was not redirected (connecting to the listener itself would loop)
    /// or the cluster already holds its maximum of hosts.
    /// </summary>
    private UpstreamEndpoint? PickOriginalDestination(IPEndPoint? destination)
    {
        if (destination is null)
        {
            return null;
        }

        // A delivery that must come from its bind address (127.0.0.6, exempt from the
        // interception rules) cannot go unbound to another address family: it would loop.
        if (Config.SourceAddress is { } source && source.AddressFamily != destination.AddressFamily)
        {
            return null;
        }

        if (_originalHosts.TryGetValue(destination, out var host))
        {
            host.MarkUsed();
            return host.Endpoint;
        }

        lock (_updateLock)
        {
            if (_disposed.IsCancellationRequested)
            {
                return null;
            }

            if (_originalHosts.TryGetValue(destination, out host))
            {
                host.MarkUsed();
                return host.Endpoint;
            }

            if (_originalHosts.Count >= ClusterConfig.MaxOriginalDestinationHosts)
            {
                return null;
            }

            var endpoint = new UpstreamEndpoint(destination, destination.Address.ToString(), 1, Config, Stats, _time);
            host = new OriginalHost(endpoint);
            host.MarkUsed();
            _originalHosts[destination] = host;
            Stats.MembershipTotal.Set(_originalHosts.Count);
            Stats.MembershipHealthy.Set(_originalHosts.Count);
            return endpoint;
        }
    }

    /// <summary>Drops ORIGINAL_DST hosts that no request used since the last sweep and that have none in flight.</summary>
    internal void SweepOriginalHosts()
    {
        List<UpstreamEndpoint>? removed = null;
        lock (_updateLock)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }

            foreach (var (address, host) in _originalHosts)
            {
                if (host.TakeUsed() || host.Endpoint.ActiveRequests > 0)
                {
                    continue;
                }

                _originalHosts.TryRemove(address, out _);

                // A pick that raced the removal keeps its host.
                if (host.TakeUsed())
                {
                    _originalHosts[address] = host;
                    continue;
                }

                (removed ??= []).Add(host.Endpoint);
            }

            Stats.MembershipTotal.Set(_originalHosts.Count);
            Stats.MembershipHealthy.Set(_originalHosts.Count);
        }

        if (removed is not null)
        {
            foreach (var endpoint in removed)
            {
                _ = endpoint.DisposeAsync().AsTask();
            }
        }
    }

    private void OnRefreshTimer()
    {
        // One resolution at a time; a slow resolver skips ticks rather than piling them up.
        if (Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return;
        }

        _refresh = RefreshAsync();
    }

    private async Task RefreshAsync()
    {
        try
        {
            await ResolveAndApplyAsync(_disposed.Token);
        }
        catch (OperationCanceledException) when (_disposed.IsCancellationRequested)
        {
            // Disposed while resolving.
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private async Task ResolveAndApplyAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
        using var timeout = new CancellationTokenSource(MaxResolveTime, _time);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(linked.Token, timeout.Token);
        var resolved = new List<ResolvedEndpoint>();
        string? error = null;
        foreach (var endpoint in Config.Endpoints)
        {
            IPAddress[] addresses;
            try
            {
                addresses = await _dns.ResolveAsync(endpoint.Host, both.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !linked.IsCancellationRequested)
            {
                // A failed name keeps the last good addresses of the whole cluster.
                error = $"resolving '{endpoint.Host}': {ex.Message}";
                break;
            }

            var family = Filter(addresses, Config.DnsLookupFamily);
            foreach (var address in family)
            {
                resolved.Add(new ResolvedEndpoint(new IPEndPoint(address, endpoint.Port), endpoint.Host, endpoint.Weight, endpoint.Healthy));
                if (Config.Type == DiscoveryType.LogicalDns)
                {
                    // LOGICAL_DNS: one logical host, connecting to the first address returned.
                    break;
                }
            }
        }

        Volatile.Write(ref _lastResolveError, error);
        if (error is null)
        {
            Apply(resolved);
        }
    }

    private static List<IPAddress> Filter(IPAddress[] addresses, DnsLookupFamily family)
    {
        var v4 = new List<IPAddress>();
        var v6 = new List<IPAddress>();
        foreach (var address in addresses)
        {
            var plain = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
            (plain.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : v4).Add(plain);
        }

        switch (family)
        {
            case DnsLookupFamily.V4Only:
                return v4;
            case DnsLookupFamily.V6Only:
                return v6;
            case DnsLookupFamily.V4Preferred:
                return v4.Count > 0 ? v4 : v6;
            case DnsLookupFamily.All:
                v4.AddRange(v6);
                return v4;
            default:
                return v6.Count > 0 ? v6 : v4;
        }
    }

    private void Apply(List<ResolvedEndpoint> resolved)
    {
        List<UpstreamEndpoint>? removed = null;
        var changed = false;
        lock (_updateLock)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }

            var previous = _current.Endpoints;
            var members = ImmutableArray.CreateBuilder<UpstreamEndpoint>(resolved.Count);
            List<UpstreamEndpoint>? added = null;
            var keep = new HashSet<IPEndPoint>();
            foreach (var endpoint in resolved)
            {
                // The first occurrence of an address wins (two DNS names may share one).
                if (!endpoint.Healthy || !keep.Add(endpoint.Address))
                {
                    continue;
                }

                if (_byAddress.TryGetValue(endpoint.Address, out var existing)
                    && string.Equals(existing.HostName, endpoint.HostName, StringComparison.Ordinal))
                {
                    if (existing.Weight != Math.Max(1, endpoint.Weight))
                    {
                        existing.SetWeight(endpoint.Weight);
                        changed = true;
                    }
                }
                else
                {
                    if (existing is not null)
                    {
                        (removed ??= []).Add(existing);
                    }

                    existing = new UpstreamEndpoint(endpoint.Address, endpoint.HostName, endpoint.Weight, Config, Stats, _time);
                    _byAddress[endpoint.Address] = existing;
                    _outlier?.Attach(existing);
                    (added ??= []).Add(existing);
                }

                members.Add(existing);
            }

            foreach (var (address, endpoint) in _byAddress)
            {
                if (!keep.Contains(address))
                {
                    (removed ??= []).Add(endpoint);
                }
            }

            if (removed is not null)
            {
                foreach (var endpoint in removed)
                {
                    if (_byAddress.TryGetValue(endpoint.Address, out var current) && ReferenceEquals(current, endpoint))
                    {
                        _byAddress.Remove(endpoint.Address);
                    }

                    _outlier?.Detach(endpoint);
                    _healthChecker?.Remove(endpoint);
                }
            }

            if (added is not null && _healthChecker is not null)
            {
                // New hosts are out of balancing until their first check passes.
                foreach (var endpoint in added)
                {
                    _healthChecker.Add(endpoint);
                }
            }

            _members = members.ToImmutable();
            var endpoints = AvailableOf(_members);
            changed |= !SameMembers(previous, endpoints);
            if (changed)
            {
                Volatile.Write(ref _current, new EndpointSet(endpoints, LoadBalancerFactory.Create(Config, endpoints, _random)));
            }

            Stats.MembershipTotal.Set(resolved.Count);
            Stats.MembershipHealthy.Set(endpoints.Length);
        }

        if (removed is not null)
        {
            // In-flight requests hold their own references; only the pools are let go.
            foreach (var endpoint in removed)
            {
                _ = endpoint.DisposeAsync().AsTask();
            }
        }

        if (changed)
        {
            // Held requests leave as soon as the cluster has somewhere to send them.
            Gate?.SetEndpointCount(Volatile.Read(ref _current).Endpoints.Length);
            EndpointsChanged?.Invoke(this);
        }
    }

    /// <summary>Rebuilds the load balancer's set after a host was ejected, brought back, or changed health.</summary>
    private void RefreshAvailability()
    {
        bool changed;
        int available;
        lock (_updateLock)
        {
            if (_disposed.IsCancellationRequested)
            {
                return;
            }

            var endpoints = AvailableOf(_members);
            available = endpoints.Length;
            changed = !SameMembers(_current.Endpoints, endpoints);
            if (changed)
            {
                Volatile.Write(ref _current, new EndpointSet(endpoints, LoadBalancerFactory.Create(Config, endpoints, _random)));
                Stats.MembershipHealthy.Set(available);
            }
        }

        if (changed)
        {
            Gate?.SetEndpointCount(available);
            EndpointsChanged?.Invoke(this);
        }
    }

    private async Task WaitForFirstHealthChecksAsync(CancellationToken cancellationToken)
    {
        if (_healthChecker is not null)
        {
            await _healthChecker.WaitForFirstChecksAsync(cancellationToken);
        }
    }

    private static ImmutableArray<UpstreamEndpoint> AvailableOf(ImmutableArray<UpstreamEndpoint> members)
    {
        var all = true;
        foreach (var endpoint in members)
        {
            all &= endpoint.IsAvailable;
        }

        if (all)
        {
            return members;
        }

        var builder = ImmutableArray.CreateBuilder<UpstreamEndpoint>(members.Length);
        foreach (var endpoint in members)
        {
            if (endpoint.IsAvailable)
            {
                builder.Add(endpoint);
            }
        }

        return builder.ToImmutable();
    }

    private static IHealthProbe CreateProbe(HealthCheckConfig config, string clusterName) => config.Kind switch
    {
        HealthCheckKind.Http => new HttpHealthProbe(config, clusterName),
        HealthCheckKind.Tcp => new TcpHealthProbe(config),
        _ => new GrpcHealthProbe(config, clusterName),
    };

    private static bool SameMembers(ImmutableArray<UpstreamEndpoint> a, ImmutableArray<UpstreamEndpoint> b)
    {
        if (a.Length != b.Length)
        {
            return false;
        }

        for (var i = 0; i < a.Length; i++)
        {
            if (!ReferenceEquals(a[i], b[i]))
            {
                return false;
            }
        }

        return true;
    }

    private sealed class OriginalHost(UpstreamEndpoint endpoint)
    {
        private int _used;

        public UpstreamEndpoint Endpoint { get; } = endpoint;

        public void MarkUsed()
        {
            if (Volatile.Read(ref _used) == 0)
            {
                Volatile.Write(ref _used, 1);
            }
        }

        public bool TakeUsed() => Interlocked.Exchange(ref _used, 0) != 0;
    }

    private sealed record EndpointSet(ImmutableArray<UpstreamEndpoint> Endpoints, ILoadBalancer LoadBalancer);

    private readonly record struct ResolvedEndpoint(IPEndPoint Address, string HostName, uint Weight, bool Healthy);
}
