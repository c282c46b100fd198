using System.Globalization;
using System.Text.Json;

namespace Herald.Xds.ControlPlane.Etcd;

/// <summary>
/// The registry and the mesh configuration kept in etcd v3, so several control-plane replicas
/// serve one mesh. Instances live under <c>PREFIX/instances/ID</c> as JSON, each attached to an
/// etcd lease whose TTL is the instance's heartbeat TTL (etcd removes it when heartbeats stop);
/// the mesh file's text lives at <c>PREFIX/mesh</c>. One loop lists the prefix once, then
/// follows it with a watch from the next revision; after a broken stream it watches again from
/// the last revision it applied, so no change is missed across a reconnect (a compacted
/// history makes it list again). Writes return once this replica has seen them.
/// </summary>
public sealed class EtcdStore : IServiceRegistry
{
    private static readonly TimeSpan MinRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan ReadYourWriteTimeout = TimeSpan.FromSeconds(10);

    private readonly EtcdClient _client;
    private readonly string _prefix;
    private readonly string _instancesPrefix;
    private readonly string _meshKey;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServiceInstance> _instances = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _leases = new(StringComparer.Ordinal);
    private readonly RegistryChanges _changes;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _follow;
    private string? _meshText;
    private long _revision;
    private volatile bool _following;

    public EtcdStore(EtcdClient client, string prefix, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        ArgumentNullException.ThrowIfNull(time);
        _client = client;
        _prefix = prefix.EndsWith('/') ? prefix : prefix + "/";
        _instancesPrefix = _prefix + "instances/";
        _meshKey = _prefix + "mesh";
        _time = time;
        _changes = new RegistryChanges(_lock, time);
    }

    public event Action? Changed;

    /// <summary>Raised, outside the lock, when the mesh text in etcd changes (null: no mesh stored).</summary>
    public event Action<string?>? MeshChanged;

    /// <summary>The mesh file's text as etcd holds it; null when none was stored.</summary>
    public string? MeshText
    {
        get
        {
            lock (_lock)
            {
                return _meshText;
            }
        }
    }

    /// <summary>The last etcd revision this replica applied.</summary>
    public long Revision
    {
        get
        {
            lock (_lock)
            {
                return _revision;
            }
        }
    }

    /// <summary>True while the watch stream is up.</summary>
    public bool IsFollowing => _following;

    public long Index => _changes.Index;

    /// <summary>Starts following etcd and returns once the first listing is applied (or throws when etcd stays unreachable for <paramref name="timeout"/>).</summary>
    public async Task StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_follow is not null)
        {
            throw new InvalidOperationException("the etcd store is already started");
        }

        Exception? lastError = null;
        _follow = Task.Run(() => FollowAsync(e => lastError = e, _stopping.Token), CancellationToken.None);
        try
        {
            await _synced.Task.WaitAsync(timeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RegistryUnavailableException($"etcd ({string.Join(", ", _client.Endpoints)}) did not answer within {timeout.TotalSeconds:0} s: {lastError?.Message ?? "no answer"}", lastError);
        }
    }

    public RegistryView View()
    {
        lock (_lock)
        {
            return _changes.ViewLocked(_instances.Values);
        }
    }

    public async ValueTask<string> RegisterAsync(string service, string address, int port, IReadOnlyDictionary<string, string>? labels, string? version, TimeSpan? ttl, CancellationToken cancellationToken)
    {
        var ip = ServiceRegistry.ValidateInstance(service, address, port, version, ttl);
        var id = ServiceRegistry.NewId(service);
        var lease = ttl is { } t ? await _client.GrantLeaseAsync(t, cancellationToken).ConfigureAwait(false) : 0;
        var record = new StoredInstance
        {
            Service = service,
            Address = ip.ToString(),
            Port = port,
            Labels = labels is null ? [] : new SortedDictionary<string, string>(labels.ToDictionary(), StringComparer.Ordinal),
            Version = version,
            TtlSeconds = ttl?.TotalSeconds,
            RegisteredAt = _time.GetUtcNow(),
        };
        var revision = await PutOrUnavailableAsync(_instancesPrefix + id, JsonSerializer.Serialize(record, StoredInstanceJson.Default.StoredInstance), lease, cancellationToken).ConfigureAwait(false);
        await WaitForRevisionAsync(revision, cancellationToken).ConfigureAwait(false);
        return id;
    }

    public async ValueTask<bool> HeartbeatAsync(string id, CancellationToken cancellationToken)
    {
        long lease;
        lock (_lock)
        {
            if (!_instances.ContainsKey(id))
            {
                return false;
            }

            lease = _leases.GetValueOrDefault(id);
        }

        return lease == 0 || await _client.KeepAliveAsync(lease, cancellationToken).ConfigureAwait(false) > 0;
    }

    public async ValueTask<bool> DeregisterAsync(string id, CancellationToken cancellationToken)
    {
        long lease;
        lock (_lock)
        {
            lease = _leases.GetValueOrDefault(id);
        }

        var (revision, deleted) = await _client.DeleteAsync(_instancesPrefix + id, cancellationToken).ConfigureAwait(false);
        if (deleted == 0)
        {
            return false;
        }

        if (lease != 0)
        {
            // The key is gone already; a lease left behind would only expire on its own.
            try
            {
                await _client.RevokeLeaseAsync(lease, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is EtcdException or RegistryUnavailableException)
            {
            }
        }

        await WaitForRevisionAsync(revision, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Stores the mesh file's text for every replica, unless etcd holds that text already.</summary>
    public async Task PublishMeshAsync(string text, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (MeshText == text)
        {
            return;
        }

        var revision = await PutOrUnavailableAsync(_meshKey, text, 0, cancellationToken).ConfigureAwait(false);
        await WaitForRevisionAsync(revision, cancellationToken).ConfigureAwait(false);
    }

    public Task<RegistryView> WaitForChangeAsync(long afterIndex, TimeSpan maxWait, CancellationToken cancellationToken) =>
        _changes.WaitForChangeAsync(afterIndex, maxWait, View, cancellationToken);

    public void ReplaceImported(string source, IReadOnlyList<ServiceInstance> instances)
    {
        lock (_lock)
        {
            if (!_changes.ReplaceImportedLocked(source, instances))
            {
                return;
            }
        }

        Changed?.Invoke();
    }

    public void Dispose()
    {
        _stopping.Cancel();
        try
        {
            _follow?.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        _stopping.Dispose();
    }

    private async Task<long> PutOrUnavailableAsync(string key, string value, long lease, CancellationToken cancellationToken)
    {
        try
        {
            return await _client.PutAsync(key, value, lease, cancellationToken).ConfigureAwait(false);
        }
        catch (EtcdException e)
        {
            throw new RegistryUnavailableException(e.Message, e);
        }
    }

    // Read your writes: the registry API answers once this replica's view holds the change.
    private async Task WaitForRevisionAsync(long revision, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ReadYourWriteTimeout);
        while (true)
        {
            Task advanced;
            lock (_lock)
            {
                if (_revision >= revision)
                {
                    return;
                }

                advanced = _advanced.Task;
            }

            try
            {
                await advanced.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new RegistryUnavailableException($"etcd stored the change (revision {revision}) but this replica's watch did not deliver it within {ReadYourWriteTimeout.TotalSeconds:0} s");
            }
        }
    }

    private async Task FollowAsync(Action<Exception> reportError, CancellationToken cancellationToken)
    {
        var needList = true;
        var retry = MinRetry;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                    _synced.TrySetResult();
                }

                long from;
                lock (_lock)
                {
                    from = _revision + 1;
                }

                _following = true;
                await _client.WatchAsync(_prefix, from, ApplyBatchAsync, cancellationToken).ConfigureAwait(false);
                retry = MinRetry;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (EtcdCompactedException)
            {
                needList = true;
            }
            catch (Exception e) when (e is RegistryUnavailableException or EtcdException or HttpRequestException or IOException or JsonException or OperationCanceledException)
            {
                reportError(e);
            }
            finally
            {
                _following = false;
            }

            try
            {
                await Task.Delay(retry, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
        }
    }

    // Its own method so the listing (every key and value as etcd sent them) is not kept alive by the follow loop.
    private async Task ListAsync(CancellationToken cancellationToken) =>
        ApplyListing(await _client.RangePrefixAsync(_prefix, cancellationToken).ConfigureAwait(false));

    private void ApplyListing(EtcdRange range)
    {
        string? meshBefore;
        string? meshAfter = null;
        lock (_lock)
        {
            meshBefore = _meshText;
            _instances.Clear();
            _leases.Clear();
            foreach (var pair in range.Pairs)
            {
                if (pair.Key == _meshKey)
                {
                    meshAfter = pair.Value;
                }
                else
                {
                    ApplyPutLocked(pair);
                }
            }

            _meshText = meshAfter;
            _revision = Math.Max(_revision, range.Revision);
            ChangedLocked();
        }

        Raise(meshBefore != meshAfter, meshAfter);
    }

    private Task ApplyBatchAsync(EtcdWatchBatch batch)
    {
        string? meshBefore;
        string? meshAfter;
        lock (_lock)
        {
            meshBefore = _meshText;
            foreach (var e in batch.Events)
            {
                if (e.Pair.Key == _meshKey)
                {
                    _meshText = e.Deleted ? null : e.Pair.Value;
                }
                else if (e.Deleted)
                {
                    var id = e.Pair.Key[_instancesPrefix.Length..];
                    _instances.Remove(id);
                    _leases.Remove(id);
                }
                else
                {
                    ApplyPutLocked(e.Pair);
                }

                _revision = Math.Max(_revision, e.Pair.ModRevision);
            }

            meshAfter = _meshText;
            ChangedLocked();
        }

        Raise(meshBefore != meshAfter, meshAfter);
        return Task.CompletedTask;
    }

    private void ApplyPutLocked(EtcdKeyValue pair)
    {
        if (!pair.Key.StartsWith(_instancesPrefix, StringComparison.Ordinal))
        {
            return;
        }

        var id = pair.Key[_instancesPrefix.Length..];
        StoredInstance? stored;
        try
        {
            stored = JsonSerializer.Deserialize(pair.Value, StoredInstanceJson.Default.StoredInstance);
        }
        catch (JsonException)
        {
            stored = null;
        }

        // A value Herald cannot read (written by hand, or by a newer version) is left out, never served half-read.
        if (stored is null || stored.Service is not { Length: > 0 } service || !System.Net.IPAddress.TryParse(stored.Address, out var ip) || stored.Port is < 1 or > 65535)
        {
            _instances.Remove(id);
            _leases.Remove(id);
            return;
        }

        _instances[id] = new ServiceInstance(
            id,
            service,
            ip.ToString(),
            stored.Port,
            new SortedDictionary<string, string>(stored.Labels ?? [], StringComparer.Ordinal),
            stored.Version,
            stored.TtlSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : null,
            stored.RegisteredAt,
            null);
        _leases[id] = pair.Lease;
    }

    private void ChangedLocked()
    {
        _changes.ChangedLocked();
        var advanced = _advanced;
        _advanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        advanced.TrySetResult();
    }

    private void Raise(bool meshChanged, string? mesh)
    {
        Changed?.Invoke();
        if (meshChanged)
        {
            MeshChanged?.Invoke(mesh);
        }
    }
}
