using Envoy.Config.Cluster.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.TransportSockets.Tls.V3;
using Google.Protobuf;

namespace Herald.Xds.Client;

/// <summary>A held update that was ACKed, then refused by the data plane when its warming ended.</summary>
internal sealed record AdsLateNack(AdsTypeState Type, string Message);

/// <summary>The verdict on one response: accepted, or refused with a reason, plus held updates withdrawn.</summary>
internal sealed record AdsOutcome(string? Error, IReadOnlyList<AdsLateNack> LateNacks)
{
    public bool Accepted => Error is null;
}

/// <summary>
/// The transport-independent heart of the ADS client: accepted resources per type, what to
/// request, warming, and applying in make-before-break order (clusters and their endpoints,
/// then listeners and their routes). Every method runs on the client's event loop.
/// </summary>
internal sealed class AdsStateMachine
{
    private const string InitialFetch = "*";

    private readonly IXdsConfigTarget _target;
    private readonly TimeProvider _time;
    private readonly TimeSpan _arrivalTimeout;
    private readonly Action<AdsTypeState, string, ITimer?> _onArrivalTimeout;
    private readonly TaskCompletionSource _initialConfig = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // What the target holds now, as entries (for references) and as the set it accepted.
    private Dictionary<string, AdsEntry> _appliedClusters = new(StringComparer.Ordinal);
    private Dictionary<string, AdsEntry> _appliedListeners = new(StringComparer.Ordinal);
    private string _appliedClusterVersion = "";
    private string _appliedListenerVersion = "";
    private XdsResources _applied = XdsResources.Empty;

    public AdsStateMachine(IXdsConfigTarget target, TimeProvider time, TimeSpan arrivalTimeout, Action<AdsTypeState, string, ITimer?> onArrivalTimeout)
    {
        _target = target;
        _time = time;
        _arrivalTimeout = arrivalTimeout;
        _onArrivalTimeout = onArrivalTimeout;
        Clusters = new AdsTypeState(XdsTypeUrls.Cluster, wildcard: true);
        Endpoints = new AdsTypeState(XdsTypeUrls.ClusterLoadAssignment, wildcard: false);
        Listeners = new AdsTypeState(XdsTypeUrls.Listener, wildcard: true);
        Routes = new AdsTypeState(XdsTypeUrls.RouteConfiguration, wildcard: false);
        Secrets = new AdsTypeState(XdsTypeUrls.Secret, wildcard: false);
        AllTypes = [Clusters, Endpoints, Listeners, Routes, Secrets];
    }

    public AdsTypeState Clusters { get; }

    public AdsTypeState Endpoints { get; }

    public AdsTypeState Listeners { get; }

    public AdsTypeState Routes { get; }

    /// <summary>SDS: the TLS certificates listeners name; a listener is warm when its secrets are here too.</summary>
    public AdsTypeState Secrets { get; }

    /// <summary>In the order Envoy requests and applies them: CDS, EDS, LDS, RDS, then SDS.</summary>
    public IReadOnlyList<AdsTypeState> AllTypes { get; }

    public Task InitialConfig => _initialConfig.Task;

    /// <summary>The last refusal that could not be reported as a NACK (no response to answer).</summary>
    public string? LastApplyError { get; private set; }

    public AdsTypeState? Find(string typeUrl)
    {
        foreach (var type in AllTypes)
        {
            if (type.TypeUrl == typeUrl)
            {
                return type;
            }
        }

        return null;
    }

    /// <summary>Arms the initial-fetch timers of the wildcard types.</summary>
    public void Start()
    {
        ArmTimer(Listeners, InitialFetch);
        ArmTimer(Clusters, InitialFetch);
    }

    /// <summary>
    /// Takes a validated response: the type's complete new accepted set and version. Applies
    /// whatever is warm; undoes the change if the data plane refuses it.
    /// </summary>
    public async Task<AdsOutcome> AcceptAsync(AdsTypeState type, Dictionary<string, AdsEntry> accepted, string version, CancellationToken cancellationToken)
    {
        var previous = (type.Accepted, type.Version, type.AcceptedAt, type.Initialized);
        type.Accepted = accepted;
        type.Version = version;
        type.AcceptedAt = _time.GetUtcNow();
        type.Initialized = true;
        type.StopTimer(InitialFetch);
        foreach (var name in accepted.Keys)
        {
            type.StopTimer(name);
            type.KnownAbsent.Remove(name);
        }

        UpdateSubscriptions();
        var (error, lateNacks) = await ApplyReadyAsync(type, cancellationToken);
        if (error is not null)
        {
            (type.Accepted, type.Version, type.AcceptedAt, type.Initialized) = previous;
        }

        UpdateSubscriptions();
        return new AdsOutcome(error, lateNacks);
    }

    /// <summary>Marks resources the server deleted (delta) that parents still name as absent.</summary>
    public static void MarkRemoved(AdsTypeState type, IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            if (!type.Wildcard && type.Subscribed.Contains(name))
            {
                type.KnownAbsent.Add(name);
                type.StopTimer(name);
            }
        }
    }

    /// <summary>A requested resource did not arrive in time: treat it as absent and apply what became warm.</summary>
    public async Task<IReadOnlyList<AdsLateNack>> ArrivalTimedOutAsync(AdsTypeState type, string name, ITimer? timer, CancellationToken cancellationToken)
    {
        if (!type.ArrivalTimers.TryGetValue(name, out var current) || (timer is not null && !ReferenceEquals(current, timer)))
        {
            return [];
        }

        type.StopTimer(name);
        if (name == InitialFetch && type.Wildcard)
        {
            type.Initialized = true;
        }
        else
        {
            type.KnownAbsent.Add(name);
        }

        var (error, lateNacks) = await ApplyReadyAsync(null, cancellationToken);
        if (error is not null)
        {
            LastApplyError = error;
        }

        UpdateSubscriptions();
        return lateNacks;
    }

    public void Dispose()
    {
        foreach (var type in AllTypes)
        {
            foreach (var timer in type.ArrivalTimers.Values)
            {
                timer.Dispose();
            }

            type.ArrivalTimers.Clear();
        }

        _initialConfig.TrySetCanceled();
    }

    /// <summary>
    /// Applies the warm parts: clusters once every EDS they need is here (or absent for good),
    /// listeners once their routes are here and no cluster update is still warming. A refusal
    /// is first blamed on a held update being released (it is withdrawn and NACKed late) and
    /// the rest retried; otherwise on the response being handled.
    /// </summary>
    private async Task<(string? Error, IReadOnlyList<AdsLateNack> LateNacks)> ApplyReadyAsync(AdsTypeState? current, CancellationToken cancellationToken)
    {
        List<AdsLateNack>? lateNacks = null;
        while (true)
        {
            var clustersReady = IsWarm(Clusters, Endpoints);
            var listenersReady = clustersReady && IsWarm(Listeners, Routes) && IsWarm(Listeners, Secrets, SecretReferencesOf);
            var clusters = clustersReady ? Clusters.Accepted : _appliedClusters;
            var clusterVersion = clustersReady ? Clusters.Version : _appliedClusterVersion;
            var listeners = listenersReady ? Listeners.Accepted : _appliedListeners;
            var listenerVersion = listenersReady ? Listeners.Version : _appliedListenerVersion;

            var endpoints = Children(clusters, Endpoints, name => new ClusterLoadAssignment { ClusterName = name });
            var stage1 = new XdsResources(
                _applied.Listeners,
                _applied.Routes,
                Typed<Cluster>(clusters),
                endpoints,
                _applied.Secrets,
                Versions(clusterVersion, Endpoints.Version, _appliedListenerVersion, Version(_applied, XdsTypeUrls.RouteConfiguration), Version(_applied, XdsTypeUrls.Secret)));
            var stage2 = stage1 with
            {
                Listeners = Typed<Listener>(listeners),
                Routes = Children(listeners, Routes, name => new RouteConfiguration { Name = name }),
                Secrets = PresentChildren<Secret>(listeners, Secrets),
                VersionsByTypeUrl = Versions(clusterVersion, Endpoints.Version, listenerVersion, Routes.Version, Secrets.Version),
            };

            string? refused = null;
            var failedStage = 0;
            if (!SameContent(stage1, _applied))
            {
                refused = await ApplyAsync(stage1, cancellationToken);
                if (refused is null)
                {
                    (_appliedClusters, _appliedClusterVersion) = (clusters, clusterVersion);
                }
                else
                {
                    failedStage = 1;
                }
            }

            if (refused is null && !SameContent(stage2, _applied))
            {
                refused = await ApplyAsync(stage2, cancellationToken);
                if (refused is null)
                {
                    (_appliedListeners, _appliedListenerVersion) = (listeners, listenerVersion);
                }
                else
                {
                    failedStage = 2;
                }
            }

            if (refused is null)
            {
                if (Listeners.Initialized && Clusters.Initialized && clustersReady && listenersReady)
                {
                    _initialConfig.TrySetResult();
                }

                return (null, (IReadOnlyList<AdsLateNack>?)lateNacks ?? []);
            }

            // A held update released in the failing stage is the first suspect.
            var held = failedStage == 1 ? Clusters : Listeners;
            var heldApplied = failedStage == 1 ? _appliedClusters : _appliedListeners;
            if (held != current && !ReferenceEquals(held.Accepted, heldApplied))
            {
                held.LastNack = new XdsNack(held.Version, refused, _time.GetUtcNow());
                held.Accepted = heldApplied;
                held.Version = failedStage == 1 ? _appliedClusterVersion : _appliedListenerVersion;
                (lateNacks ??= []).Add(new AdsLateNack(held, refused));
                continue;
            }

            return (refused, (IReadOnlyList<AdsLateNack>?)lateNacks ?? []);
        }
    }

    private async Task<string?> ApplyAsync(XdsResources candidate, CancellationToken cancellationToken)
    {
        var result = await _target.ApplyAsync(candidate, cancellationToken);
        if (!result.Accepted)
        {
            return string.IsNullOrEmpty(result.Error) ? "the data plane refused the configuration" : result.Error;
        }

        _applied = candidate;
        return null;
    }

    /// <summary>
    /// Requests what accepted or applied parents name (applied ones too, so an update waiting
    /// on new routes does not lose the old ones), forgets what nothing names any more, and
    /// starts an arrival timer for each new name.
    /// </summary>
    private void UpdateSubscriptions()
    {
        Resubscribe(Routes, Listeners.Accepted, _appliedListeners);
        Resubscribe(Endpoints, Clusters.Accepted, _appliedClusters);
        Resubscribe(Secrets, Listeners.Accepted, _appliedListeners, SecretReferencesOf);
    }

    private static IReadOnlyList<string> ReferencesOf(AdsEntry entry) => entry.References;

    private static IReadOnlyList<string> SecretReferencesOf(AdsEntry entry) => entry.SecretReferences;

    private void Resubscribe(AdsTypeState child, Dictionary<string, AdsEntry> accepted, Dictionary<string, AdsEntry> applied, Func<AdsEntry, IReadOnlyList<string>>? references = null)
    {
        references ??= ReferencesOf;
        var wanted = new HashSet<string>(StringComparer.Ordinal);
        AddReferences(accepted, wanted, references);
        AddReferences(applied, wanted, references);
        List<string>? gone = null;
        foreach (var name in child.Subscribed)
        {
            if (!wanted.Contains(name))
            {
                (gone ??= []).Add(name);
            }
        }

        if (gone is not null)
        {
            var kept = new Dictionary<string, AdsEntry>(child.Accepted, StringComparer.Ordinal);
            foreach (var name in gone)
            {
                child.Subscribed.Remove(name);
                child.KnownAbsent.Remove(name);
                child.StopTimer(name);
                kept.Remove(name);
            }

            child.Accepted = kept;
        }

        foreach (var name in wanted)
        {
            if (child.Subscribed.Add(name) && !child.Accepted.ContainsKey(name))
            {
                ArmTimer(child, name);
            }
        }
    }

    private void ArmTimer(AdsTypeState type, string name)
    {
        type.StopTimer(name);
        ITimer? timer = null;
        timer = _time.CreateTimer(_ => _onArrivalTimeout(type, name, timer), null, _arrivalTimeout, Timeout.InfiniteTimeSpan);
        type.ArrivalTimers[name] = timer;
    }

    private static bool IsWarm(AdsTypeState parent, AdsTypeState child, Func<AdsEntry, IReadOnlyList<string>>? references = null)
    {
        references ??= ReferencesOf;
        foreach (var entry in parent.Accepted.Values)
        {
            foreach (var reference in references(entry))
            {
                if (!child.Has(reference))
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static void AddReferences(Dictionary<string, AdsEntry> parents, HashSet<string> into, Func<AdsEntry, IReadOnlyList<string>> references)
    {
        foreach (var entry in parents.Values)
        {
            foreach (var reference in references(entry))
            {
                into.Add(reference);
            }
        }
    }

    private static Dictionary<string, T> Typed<T>(Dictionary<string, AdsEntry> entries)
        where T : class, IMessage
    {
        var result = new Dictionary<string, T>(entries.Count, StringComparer.Ordinal);
        foreach (var (name, entry) in entries)
        {
            result[name] = (T)entry.Message;
        }

        return result;
    }

    /// <summary>The children the parents name; one that is absent becomes an empty placeholder.</summary>
    private static Dictionary<string, T> Children<T>(Dictionary<string, AdsEntry> parents, AdsTypeState child, Func<string, T> empty)
        where T : class, IMessage
    {
        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var parent in parents.Values)
        {
            foreach (var reference in parent.References)
            {
                if (!result.ContainsKey(reference))
                {
                    result[reference] = child.Accepted.TryGetValue(reference, out var entry) ? (T)entry.Message : empty(reference);
                }
            }
        }

        return result;
    }

    /// <summary>The secrets the parents name that are here (an absent one has no placeholder: its TLS contexts present no certificate).</summary>
    private static Dictionary<string, T> PresentChildren<T>(Dictionary<string, AdsEntry> parents, AdsTypeState child)
        where T : class, IMessage
    {
        var result = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var parent in parents.Values)
        {
            foreach (var reference in parent.SecretReferences)
            {
                if (child.Accepted.TryGetValue(reference, out var entry))
                {
                    result[reference] = (T)entry.Message;
                }
            }
        }

        return result;
    }

    private static Dictionary<string, string> Versions(string clusters, string endpoints, string listeners, string routes, string secrets = "")
    {
        var versions = new Dictionary<string, string>(StringComparer.Ordinal);
        Add(XdsTypeUrls.Cluster, clusters);
        Add(XdsTypeUrls.ClusterLoadAssignment, endpoints);
        Add(XdsTypeUrls.Listener, listeners);
        Add(XdsTypeUrls.RouteConfiguration, routes);
        Add(XdsTypeUrls.Secret, secrets);
        return versions;

        void Add(string typeUrl, string version)
        {
            if (!string.IsNullOrEmpty(version))
            {
                versions[typeUrl] = version;
            }
        }
    }

    private static string Version(XdsResources resources, string typeUrl) =>
        resources.VersionsByTypeUrl.TryGetValue(typeUrl, out var version) ? version : "";

    // Versions alone do not make a change worth rebuilding the data plane for; they ride along with the next one.
    private static bool SameContent(XdsResources a, XdsResources b) =>
        Same(a.Listeners, b.Listeners) && Same(a.Routes, b.Routes) && Same(a.Clusters, b.Clusters)
        && Same(a.Endpoints, b.Endpoints) && Same<Secret>(a.Secrets, b.Secrets);

    private static bool Same<T>(IReadOnlyDictionary<string, T> a, IReadOnlyDictionary<string, T> b)
        where T : class, IMessage
    {
        if (ReferenceEquals(a, b))
        {
            return true;
        }

        if (a.Count != b.Count)
        {
            return false;
        }

        foreach (var (name, value) in a)
        {
            // Protobuf equality is by value; it returns at once for the same instance.
            if (!b.TryGetValue(name, out var other) || !value.Equals(other))
            {
                return false;
            }
        }

        return true;
    }
}
