namespace Herald.Xds.ControlPlane.Etcd;

/// <summary>One key as etcd holds it; <see cref="Lease"/> 0 when no lease holds it.</summary>
public sealed record EtcdKeyValue(string Key, string Value, long ModRevision, long Lease);

/// <summary>The keys under a prefix at <see cref="Revision"/>.</summary>
public sealed record EtcdRange(long Revision, IReadOnlyList<EtcdKeyValue> Pairs);

/// <summary>A put, or a delete (then only the key and revision are set).</summary>
public sealed record EtcdEvent(bool Deleted, EtcdKeyValue Pair);

/// <summary>The events of one watch response.</summary>
public sealed record EtcdWatchBatch(long Revision, IReadOnlyList<EtcdEvent> Events);

/// <summary>etcd answered but refused the request (for example a lease that no longer exists).</summary>
public sealed class EtcdException(string message) : Exception(message);

/// <summary>A watch asked for a revision etcd has compacted away: list again, then watch from there.</summary>
public sealed class EtcdCompactedException(long compactRevision)
    : Exception($"etcd compacted its history up to revision {compactRevision}")
{
    public long CompactRevision { get; } = compactRevision;
}
