using System.Collections.Concurrent;
using Envoy.Service.Discovery.V3;
using Herald.Xds.Streams;

namespace Herald.Xds.ControlPlane;

/// <summary>
/// The aggregated discovery service, state of the world and delta, over any message stream.
/// Mesh or registry changes are debounced on the clock, published as a new generation, and
/// each stream compares what its node should have with what it was last sent: it answers
/// only when the content changed, never resends a version its node rejected, and remembers
/// names asked for before they exist.
/// </summary>
public sealed class AdsServer : IDisposable
{
    public static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(50);

    private readonly IServiceRegistry _registry;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly ITimer _debounce;
    private readonly ConcurrentDictionary<long, ProxyTracker> _proxies = new();
    private Func<MeshConfig> _meshSource;
    private Published _published;
    private bool _scheduled;
    private long _streamIds;

    public AdsServer(Func<MeshConfig> currentMesh, IServiceRegistry registry, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(currentMesh);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(time);
        _meshSource = currentMesh;
        _registry = registry;
        _time = time;
        _published = new Published(1, currentMesh(), registry.View());
        _debounce = time.CreateTimer(_ => Publish(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        registry.Changed += Schedule;
    }

    /// <summary>Raised after each publication with the mesh it serves (on the debounce timer's thread).</summary>
    public event Action<MeshConfig>? MeshPublished;

    /// <summary>Increases each time a new mesh or registry state is published to the streams.</summary>
    public long Generation => Volatile.Read(ref _published).Generation;

    public MeshConfig CurrentMesh => Volatile.Read(ref _published).Mesh;

    /// <summary>One entry per connected stream, in connection order.</summary>
    public IReadOnlyList<ProxyStatus> Proxies =>
        [.. _proxies.OrderBy(p => p.Key).Select(p => p.Value.Snapshot())];

    /// <summary>Serves this mesh from now on (after the debounce).</summary>
    public void UpdateMesh(MeshConfig mesh)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        lock (_lock)
        {
            _meshSource = () => mesh;
        }

        Schedule();
    }

    /// <summary>The snapshot the current generation gives a node of this role.</summary>
    public XdsSnapshot SnapshotFor(NodeRole role) => Volatile.Read(ref _published).SnapshotFor(role);

    public void Dispose()
    {
        _registry.Changed -= Schedule;
        _debounce.Dispose();
    }

    public async Task HandleStateOfTheWorldAsync(IMessageStream<DiscoveryRequest, DiscoveryResponse> stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var first = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (first?.Node is null)
        {
            // The protocol requires node on the first request; without it there is nothing to serve.
            await stream.CompleteAsync().ConfigureAwait(false);
            return;
        }

        var session = new SotwSession(this, stream, first.Node);
        await RunAsync(session, first, stream.ReadAsync, cancellationToken).ConfigureAwait(false);
    }

    public async Task HandleDeltaAsync(IMessageStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> stream, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var first = await stream.ReadAsync(cancellationToken).ConfigureAwait(false);
        if (first?.Node is null)
        {
            await stream.CompleteAsync().ConfigureAwait(false);
            return;
        }

        var session = new DeltaSession(this, stream, first.Node);
        await RunAsync(session, first, stream.ReadAsync, cancellationToken).ConfigureAwait(false);
    }

    // One loop per stream: requests and published generations are handled in turn, so the
    // per-type state of a stream needs no lock.
    private async Task RunAsync<TRequest>(Session<TRequest> session, TRequest first, Func<CancellationToken, ValueTask<TRequest?>> read, CancellationToken cancellationToken)
        where TRequest : class
    {
        var id = Interlocked.Increment(ref _streamIds);
        _proxies[id] = session.Tracker;
        try
        {
            TRequest? pending = first;
            Task<TRequest?>? reading = null;
            Published? seen = null;
            while (true)
            {
                var current = Volatile.Read(ref _published);
                if (pending is not null)
                {
                    await session.HandleAsync(pending, current, cancellationToken).ConfigureAwait(false);
                    pending = null;
                }

                if (!ReferenceEquals(current, seen))
                {
                    seen = current;
                    await session.EvaluateAllAsync(current, cancellationToken).ConfigureAwait(false);
                }

                reading ??= read(cancellationToken).AsTask();
                var done = await Task.WhenAny(reading, current.Superseded).ConfigureAwait(false);
                if (done == reading)
                {
                    pending = await reading.ConfigureAwait(false);
                    reading = null;
                    if (pending is null)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            _proxies.TryRemove(id, out _);
        }
    }

    private void Schedule()
    {
        lock (_lock)
        {
            if (_scheduled)
            {
                return;
            }

            _scheduled = true;
            _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);
        }
    }

    private void Publish()
    {
        Published previous;
        lock (_lock)
        {
            _scheduled = false;
            previous = _published;
            _published = new Published(previous.Generation + 1, _meshSource(), _registry.View());
        }

        previous.Supersede();
        MeshPublished?.Invoke(Volatile.Read(ref _published).Mesh);
    }

    private static bool IsWildcardType(string typeUrl) => typeUrl is XdsTypeUrls.Listener or XdsTypeUrls.Cluster;

    // What a subscription currently selects from a type snapshot, in name order.
    private static List<XdsResource> Select(XdsTypeSnapshot? snapshot, bool wildcard, HashSet<string> names)
    {
        var result = new List<XdsResource>();
        if (snapshot is null)
        {
            return result;
        }

        foreach (var (name, resource) in snapshot.Resources)
        {
            if (names.Contains(name) || (wildcard && !resource.OnlyWhenNamed))
            {
                result.Add(resource);
            }
        }

        return result;
    }

    private sealed class Published(long generation, MeshConfig mesh, RegistryView registry)
    {
        private readonly ConcurrentDictionary<NodeRole, Lazy<XdsSnapshot>> _snapshots = new();
        private readonly TaskCompletionSource _superseded = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long Generation { get; } = generation;

        public MeshConfig Mesh { get; } = mesh;

        public Task Superseded => _superseded.Task;

        public void Supersede() => _superseded.TrySetResult();

        // Nodes of one role share one build per generation.
        public XdsSnapshot SnapshotFor(NodeRole role) =>
            _snapshots.GetOrAdd(role, r => new Lazy<XdsSnapshot>(() => SnapshotBuilder.Build(Mesh, registry, r))).Value;
    }

    private abstract class Session<TRequest>(AdsServer server, Envoy.Config.Core.V3.Node node, string protocol)
        where TRequest : class
    {
        private long _nonce;

        public ProxyTracker Tracker { get; } = new(node.Id, node.Cluster, protocol, server._time.GetUtcNow(), server._time);

        protected NodeRole Role { get; } = NodeRole.Of(node);

        public abstract Task HandleAsync(TRequest request, Published current, CancellationToken cancellationToken);

        public abstract Task EvaluateAllAsync(Published current, CancellationToken cancellationToken);

        protected string NextNonce() => (++_nonce).ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private sealed class SotwSession(AdsServer server, IMessageStream<DiscoveryRequest, DiscoveryResponse> stream, Envoy.Config.Core.V3.Node node)
        : Session<DiscoveryRequest>(server, node, "sotw")
    {
        private readonly SortedDictionary<string, SotwType> _types = new(StringComparer.Ordinal);

        public override async Task HandleAsync(DiscoveryRequest request, Published current, CancellationToken cancellationToken)
        {
            if (request.TypeUrl.Length == 0)
            {
                return;
            }

            if (!_types.TryGetValue(request.TypeUrl, out var state))
            {
                _types[request.TypeUrl] = state = new SotwType();
            }

            if (request.ResponseNonce.Length > 0)
            {
                if (request.ResponseNonce != state.LastNonce)
                {
                    return;
                }

                if (request.ErrorDetail is { } error)
                {
                    state.Nacked = state.LastSentVersion;
                    Tracker.Nack(request.TypeUrl, state.LastSentVersion, error.Message);
                }
                else
                {
                    Tracker.Ack(request.TypeUrl, request.VersionInfo);
                }
            }

            state.Names.Clear();
            state.Wildcard = IsWildcardType(request.TypeUrl) && (request.ResourceNames.Count == 0 || request.ResourceNames.Contains("*"));
            foreach (var name in request.ResourceNames)
            {
                if (name != "*")
                {
                    state.Names.Add(name);
                }
            }

            await EvaluateAsync(request.TypeUrl, state, current, cancellationToken).ConfigureAwait(false);
        }

        public override async Task EvaluateAllAsync(Published current, CancellationToken cancellationToken)
        {
            foreach (var (typeUrl, state) in _types)
            {
                await EvaluateAsync(typeUrl, state, current, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task EvaluateAsync(string typeUrl, SotwType state, Published current, CancellationToken cancellationToken)
        {
            var resources = Select(current.SnapshotFor(Role).ForType(typeUrl), state.Wildcard, state.Names);
            if (!state.Wildcard && resources.Count == 0 && state.LastSentVersion is null)
            {
                return;
            }

            var version = XdsSnapshot.VersionOf(resources);
            if (version == state.LastSentVersion || version == state.Nacked)
            {
                return;
            }

            var response = new DiscoveryResponse { VersionInfo = version, TypeUrl = typeUrl, Nonce = NextNonce() };
            foreach (var resource in resources)
            {
                response.Resources.Add(resource.Packed);
            }

            await stream.WriteAsync(response, cancellationToken).ConfigureAwait(false);
            state.LastSentVersion = version;
            state.LastNonce = response.Nonce;
        }

        private sealed class SotwType
        {
            public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

            public bool Wildcard { get; set; }

            public string? LastSentVersion { get; set; }

            public string? LastNonce { get; set; }

            public string? Nacked { get; set; }
        }
    }

    private sealed class DeltaSession(AdsServer server, IMessageStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse> stream, Envoy.Config.Core.V3.Node node)
        : Session<DeltaDiscoveryRequest>(server, node, "delta")
    {
        private readonly SortedDictionary<string, DeltaType> _types = new(StringComparer.Ordinal);

        public override async Task HandleAsync(DeltaDiscoveryRequest request, Published current, CancellationToken cancellationToken)
        {
            if (request.TypeUrl.Length == 0)
            {
                return;
            }

            if (!_types.TryGetValue(request.TypeUrl, out var state))
            {
                _types[request.TypeUrl] = state = new DeltaType();

                // The first request of a type: an empty subscription means wildcard (legacy form).
                state.Wildcard = IsWildcardType(request.TypeUrl) && request.ResourceNamesSubscribe.Count == 0;
                foreach (var (name, version) in request.InitialResourceVersions)
                {
                    state.Known[name] = version;
                }
            }

            if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.PendingNonce)
            {
                if (request.ErrorDetail is { } error)
                {
                    state.Held = state.PendingSnapshotVersion;
                    Tracker.Nack(request.TypeUrl, state.PendingSnapshotVersion, error.Message);
                }
                else
                {
                    state.Known.Clear();
                    foreach (var (name, version) in state.PendingKnown!)
                    {
                        state.Known[name] = version;
                    }

                    Tracker.Ack(request.TypeUrl, state.PendingSnapshotVersion!);
                }

                state.PendingNonce = null;
                state.PendingKnown = null;
            }
            else if (request.ResponseNonce.Length > 0 && request.ResponseNonce == state.LastNonce && request.ErrorDetail is { } lateError)
            {
                // A client may ACK an update it has validated and refuse it later, when warming
                // ends (Herald's client does): the NACK then repeats the acknowledged nonce.
                state.Held = state.LastSnapshotVersion;
                Tracker.Nack(request.TypeUrl, state.LastSnapshotVersion, lateError.Message);
            }

            foreach (var name in request.ResourceNamesSubscribe)
            {
                if (name == "*")
                {
                    state.Wildcard = IsWildcardType(request.TypeUrl);
                }
                else
                {
                    state.Names.Add(name);
                }
            }

            foreach (var name in request.ResourceNamesUnsubscribe)
            {
                if (name == "*")
                {
                    state.Wildcard = false;
                }
                else
                {
                    state.Names.Remove(name);
                    state.Known.Remove(name);
                    state.PendingKnown?.Remove(name);
                }
            }

            await EvaluateAsync(request.TypeUrl, state, current, cancellationToken).ConfigureAwait(false);
        }

        public override async Task EvaluateAllAsync(Published current, CancellationToken cancellationToken)
        {
            foreach (var (typeUrl, state) in _types)
            {
                await EvaluateAsync(typeUrl, state, current, cancellationToken).ConfigureAwait(false);
            }
        }

        private async Task EvaluateAsync(string typeUrl, DeltaType state, Published current, CancellationToken cancellationToken)
        {
            // One response in flight per type, so a NACK can be undone exactly.
            var snapshot = current.SnapshotFor(Role).ForType(typeUrl);
            if (state.PendingNonce is not null || snapshot is null || snapshot.Version == state.Held)
            {
                return;
            }

            var desired = Select(snapshot, state.Wildcard, state.Names);
            var response = new DeltaDiscoveryResponse { TypeUrl = typeUrl, SystemVersionInfo = snapshot.Version };
            var next = new Dictionary<string, string>(state.Known, StringComparer.Ordinal);
            var present = new HashSet<string>(StringComparer.Ordinal);
            foreach (var resource in desired)
            {
                present.Add(resource.Name);
                if (!state.Known.TryGetValue(resource.Name, out var version) || version != resource.Version)
                {
                    response.Resources.Add(new Resource { Name = resource.Name, Version = resource.Version, Resource_ = resource.Packed });
                    next[resource.Name] = resource.Version;
                }
            }

            foreach (var name in state.Known.Keys.Order(StringComparer.Ordinal))
            {
                if (!present.Contains(name))
                {
                    response.RemovedResources.Add(name);
                    next.Remove(name);
                }
            }

            if (response.Resources.Count == 0 && response.RemovedResources.Count == 0)
            {
                return;
            }

            response.Nonce = NextNonce();
            state.PendingNonce = response.Nonce;
            state.LastNonce = response.Nonce;
            state.LastSnapshotVersion = snapshot.Version;
            state.PendingKnown = next;
            state.PendingSnapshotVersion = snapshot.Version;
            await stream.WriteAsync(response, cancellationToken).ConfigureAwait(false);
        }

        private sealed class DeltaType
        {
            public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

            /// <summary>What the client holds: name to version.</summary>
            public Dictionary<string, string> Known { get; } = new(StringComparer.Ordinal);

            public bool Wildcard { get; set; }

            public string? PendingNonce { get; set; }

            public string? LastNonce { get; set; }

            public string? LastSnapshotVersion { get; set; }

            public Dictionary<string, string>? PendingKnown { get; set; }

            public string? PendingSnapshotVersion { get; set; }

            public string? Held { get; set; }
        }
    }
}
