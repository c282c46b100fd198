using System.Collections.Concurrent;

namespace Herald.Xds.ControlPlane;

/// <summary>
/// Demand that data planes reported for clusters holding requests (scale from zero): the
/// latest notice per cluster and how many arrived, for an autoscaler or an operator to read
/// at <c>GET /v1/demand</c>. Bounded: at most <see cref="MaxClusters"/> clusters are kept.
/// </summary>
public sealed class DemandLog
{
    public const int MaxClusters = 4096;

    private readonly ConcurrentDictionary<string, DemandRecord> _byCluster = new(StringComparer.Ordinal);

    public event Action<DemandRecord>? Reported;

    /// <summary>Records a notice; false when the log is full and the cluster is new.</summary>
    public bool Record(string cluster, int held, TimeSpan oldestWait, DateTimeOffset at, string? reporter)
    {
        ArgumentException.ThrowIfNullOrEmpty(cluster);
        if (!_byCluster.ContainsKey(cluster) && _byCluster.Count >= MaxClusters)
        {
            return false;
        }

        var record = _byCluster.AddOrUpdate(
            cluster,
            static (name, state) => new DemandRecord(name, state.held, state.oldestWait, state.at, state.reporter, 1),
            static (name, previous, state) => new DemandRecord(name, state.held, state.oldestWait, state.at, state.reporter, previous.Notices + 1),
            (held, oldestWait, at, reporter));
        Reported?.Invoke(record);
        return true;
    }

    public IReadOnlyList<DemandRecord> Snapshot() => [.. _byCluster.Values.OrderBy(r => r.Cluster, StringComparer.Ordinal)];
}

/// <summary>The latest demand notice for one cluster, and how many notices came in all.</summary>
public sealed record DemandRecord(string Cluster, int Held, TimeSpan OldestWait, DateTimeOffset At, string? Reporter, long Notices);
