namespace Herald.Xds.ControlPlane;

/// <summary>A connected ADS stream as <c>GET /v1/proxies</c> shows it.</summary>
public sealed record ProxyStatus(
    string NodeId,
    string NodeCluster,
    string Protocol,
    DateTimeOffset ConnectedSince,
    IReadOnlyDictionary<string, string> AckedVersions,
    ProxyNack? LastNack);

/// <summary>The last rejected response: its type, version and the client's message.</summary>
public sealed record ProxyNack(string TypeUrl, string? Version, string Message, DateTimeOffset At);

/// <summary>Mutable status of one stream; read as a <see cref="ProxyStatus"/> copy.</summary>
internal sealed class ProxyTracker(string nodeId, string nodeCluster, string protocol, DateTimeOffset since, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly SortedDictionary<string, string> _acked = new(StringComparer.Ordinal);
    private ProxyNack? _lastNack;

    public void Ack(string typeUrl, string version)
    {
        lock (_lock)
        {
            _acked[typeUrl] = version;
        }
    }

    public void Nack(string typeUrl, string? version, string message)
    {
        lock (_lock)
        {
            _lastNack = new ProxyNack(typeUrl, version, message, time.GetUtcNow());
        }
    }

    public ProxyStatus Snapshot()
    {
        lock (_lock)
        {
            return new ProxyStatus(nodeId, nodeCluster, protocol, since, new SortedDictionary<string, string>(_acked, StringComparer.Ordinal), _lastNack);
        }
    }
}
