using System.Collections.Frozen;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream;

/// <summary>
/// All live clusters by name. Readers see an immutable snapshot; <see cref="ApplyAsync"/>
/// starts new and changed clusters first, swaps the snapshot, then disposes what left it
/// (make before break).
/// </summary>
internal sealed class ClusterManager : IAsyncDisposable
{
    private readonly StatsStore _stats;
    private readonly TimeProvider _time;
    private readonly IDnsResolver _dns;
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private FrozenDictionary<string, Cluster> _clusters = FrozenDictionary<string, Cluster>.Empty;
    private bool _disposed;

    public ClusterManager(StatsStore stats, TimeProvider time, IDnsResolver dns)
    {
        _stats = stats;
        _time = time;
        _dns = dns;
    }

    public IReadOnlyCollection<Cluster> Clusters => Volatile.Read(ref _clusters).Values;

    public Cluster? Get(string name) =>
        Volatile.Read(ref _clusters).TryGetValue(name, out var cluster) ? cluster : null;

    /// <summary>
    /// Makes the live clusters match <paramref name="clusters"/> (the full set): adds new ones,
    /// replaces those whose source resource changed, removes absent ones, and keeps the
    /// objects of unchanged ones. On failure nothing changes.
    /// </summary>
    public async Task ApplyAsync(IReadOnlyList<ClusterConfig> clusters, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(clusters);
        await _applyLock.WaitAsync(cancellationToken);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var current = _clusters;
            var next = new Dictionary<string, Cluster>(clusters.Count, StringComparer.Ordinal);
            var created = new List<Cluster>();
            try
            {
                for (var i = 0; i < clusters.Count; i++)
                {
                    var config = clusters[i];
                    if (next.ContainsKey(config.Name))
                    {
                        throw new ConfigException(
                            $"clusters[{i}].name", $"duplicate cluster name '{config.Name}'", "Give every cluster a unique name");
                    }

                    if (current.TryGetValue(config.Name, out var existing) && IsUnchanged(existing.Config, config))
                    {
                        next.Add(config.Name, existing);
                        continue;
                    }

                    var cluster = new Cluster(config, _stats, _time, _dns);
                    created.Add(cluster);
                    next.Add(config.Name, cluster);
                }

                var starts = new Task[created.Count];
                for (var i = 0; i < created.Count; i++)
                {
                    starts[i] = created[i].StartAsync(cancellationToken);
                }

                await Task.WhenAll(starts);
            }
            catch
            {
                foreach (var cluster in created)
                {
                    await cluster.DisposeAsync();
                }

                throw;
            }

            Volatile.Write(ref _clusters, next.ToFrozenDictionary(StringComparer.Ordinal));

            foreach (var (name, old) in current)
            {
                if (!next.TryGetValue(name, out var kept) || !ReferenceEquals(kept, old))
                {
                    await old.DisposeAsync();
                }
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }

    // Same resource, by proto equality. A config built by hand without a Source (its Source
    // is empty) is only unchanged when it is the very same object.
    private static bool IsUnchanged(ClusterConfig existing, ClusterConfig config) =>
        ReferenceEquals(existing, config)
        || (config.Source.Name.Length > 0 && existing.Source.Equals(config.Source));

    public async ValueTask DisposeAsync()
    {
        await _applyLock.WaitAsync();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            var clusters = _clusters;
            Volatile.Write(ref _clusters, FrozenDictionary<string, Cluster>.Empty);
            foreach (var cluster in clusters.Values)
            {
                await cluster.DisposeAsync();
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }
}
