using System.Collections.Immutable;
using System.Net;

namespace Herald.Proxy.Upstream;

/// <summary>A validated, immutable cluster, translated from an Envoy v3 <c>Cluster</c>.</summary>
internal sealed class ClusterConfig
{
    public const ulong DefaultRingHashMinimumSize = 1024;
    public const ulong DefaultRingHashMaximumSize = 8 * 1024 * 1024;
    public const int DefaultMaglevTableSize = 65537;
    public const int DefaultLeastRequestChoiceCount = 2;

    public static readonly TimeSpan DefaultConnectTimeout = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultDnsRefreshRate = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan DefaultCleanupInterval = TimeSpan.FromSeconds(5);

    /// <summary>ORIGINAL_DST: hosts kept at once; a connection to a further new destination is refused (UH).</summary>
    public const int MaxOriginalDestinationHosts = 16 * 1024;

    public required string Name { get; init; }

    public DiscoveryType Type { get; init; } = DiscoveryType.Static;

    public LoadBalancerPolicy LbPolicy { get; init; } = LoadBalancerPolicy.RoundRobin;

    public TimeSpan ConnectTimeout { get; init; } = DefaultConnectTimeout;

    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;

    public ImmutableArray<EndpointConfig> Endpoints { get; init; } = [];

    public TimeSpan DnsRefreshRate { get; init; } = DefaultDnsRefreshRate;

    public DnsLookupFamily DnsLookupFamily { get; init; } = DnsLookupFamily.Auto;

    public ulong RingHashMinimumSize { get; init; } = DefaultRingHashMinimumSize;

    public ulong RingHashMaximumSize { get; init; } = DefaultRingHashMaximumSize;

    public int MaglevTableSize { get; init; } = DefaultMaglevTableSize;

    public int LeastRequestChoiceCount { get; init; } = DefaultLeastRequestChoiceCount;

    /// <summary>For EDS clusters: the ClusterLoadAssignment name that feeds it.</summary>
    public string? EdsServiceName { get; init; }

    /// <summary><c>upstream_bind_config.source_address</c>: where upstream connections come from.</summary>
    public IPEndPoint? SourceAddress { get; init; }

    /// <summary>
    /// Scale-from-zero and burst holding (<c>metadata.filter_metadata["herald.activation"]</c>):
    /// requests wait for capacity instead of failing; null when the cluster has no policy.
    /// </summary>
    public Activation.ActivationPolicy? Activation { get; init; }

    /// <summary><c>circuit_breakers</c> (priority DEFAULT), Envoy's defaults when absent.</summary>
    public CircuitBreakerThresholds CircuitBreakers { get; init; } = CircuitBreakerThresholds.Default;

    /// <summary><c>outlier_detection</c>: passive health checking; null when the cluster has none.</summary>
    public Health.OutlierDetectionConfig? OutlierDetection { get; init; }

    /// <summary><c>health_checks</c> (at most one): active health checking; null when the cluster has none.</summary>
    public Health.HealthCheckConfig? HealthCheck { get; init; }

    /// <summary>ORIGINAL_DST: how often hosts no request has used since the last sweep are dropped.</summary>
    public TimeSpan CleanupInterval { get; init; } = DefaultCleanupInterval;

    /// <summary><c>transport_socket</c> with an UpstreamTlsContext: connections to endpoints use TLS; null for cleartext.</summary>
    public Tls.UpstreamTlsConfig? Tls { get; init; }

    /// <summary>The resource this was translated from: for config_dump, and for change detection by proto equality.</summary>
    public Envoy.Config.Cluster.V3.Cluster Source { get; init; } = new();
}
