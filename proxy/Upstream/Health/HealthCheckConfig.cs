using System.Collections.Immutable;

namespace Herald.Proxy.Upstream.Health;

/// <summary>A cluster's validated active health check (Envoy's <c>HealthCheck</c>).</summary>
internal sealed record HealthCheckConfig
{
    public const int MaxPayloadBytes = 64 * 1024;

    public required HealthCheckKind Kind { get; init; }

    /// <summary>How long a check may take before it counts as a (network) failure.</summary>
    public required TimeSpan Timeout { get; init; }

    public required TimeSpan Interval { get; init; }

    public required uint UnhealthyThreshold { get; init; }

    public required uint HealthyThreshold { get; init; }

    /// <summary>A random 0..jitter delay before a host's first check.</summary>
    public TimeSpan InitialJitter { get; init; }

    /// <summary>A random 0..jitter added to every interval.</summary>
    public TimeSpan IntervalJitter { get; init; }

    /// <summary>A random 0..percent of the interval added to every interval.</summary>
    public uint IntervalJitterPercent { get; init; }

    /// <summary>The interval while the cluster has never had traffic (Envoy default 60 s).</summary>
    public TimeSpan NoTrafficInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The no-traffic interval for healthy hosts; defaults to <see cref="NoTrafficInterval"/>.</summary>
    public TimeSpan? NoTrafficHealthyInterval { get; init; }

    /// <summary>The interval for unhealthy hosts; defaults to <see cref="Interval"/>.</summary>
    public TimeSpan? UnhealthyInterval { get; init; }

    /// <summary>The interval right after a host turned unhealthy; defaults to the unhealthy interval.</summary>
    public TimeSpan? UnhealthyEdgeInterval { get; init; }

    /// <summary>The interval right after a host turned healthy; defaults to <see cref="Interval"/>.</summary>
    public TimeSpan? HealthyEdgeInterval { get; init; }

    /// <summary>HTTP: the request path.</summary>
    public string HttpPath { get; init; } = "/";

    /// <summary>HTTP: the Host header; null means the cluster name (as Envoy).</summary>
    public string? HttpHost { get; init; }

    public string HttpMethod { get; init; } = "GET";

    /// <summary>HTTP: healthy statuses, as half-open ranges [Start, End); default 200 only (as Envoy).</summary>
    public ImmutableArray<(int Start, int End)> ExpectedStatuses { get; init; } = [(200, 201)];

    /// <summary>TCP: bytes sent after connecting; null for connect-only.</summary>
    public ImmutableArray<byte> TcpSend { get; init; } = [];

    /// <summary>TCP: blocks that must all arrive, in order (not necessarily contiguous).</summary>
    public ImmutableArray<ImmutableArray<byte>> TcpReceive { get; init; } = [];

    /// <summary>gRPC: the service name in HealthCheckRequest ("" for the whole server).</summary>
    public string GrpcServiceName { get; init; } = string.Empty;

    /// <summary>gRPC: the :authority; null means the cluster name (as Envoy).</summary>
    public string? GrpcAuthority { get; init; }

    public bool IsExpectedStatus(int status)
    {
        foreach (var (start, end) in ExpectedStatuses)
        {
            if (status >= start && status < end)
            {
                return true;
            }
        }

        return false;
    }
}
