using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.AccessLog;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace Herald.Proxy.Http;

/// <summary>Validated settings of one <c>envoy.filters.network.http_connection_manager</c>.</summary>
internal sealed class HttpConnectionManagerConfig
{
    public required string StatPrefix { get; init; }

    public required CodecType Codec { get; init; }

    public required RouteTable RouteTable { get; init; }

    /// <summary>The RDS resource the routes came from, when they were not inline.</summary>
    public string? RdsName { get; init; }

    public required IReadOnlyList<IAccessLogSink> AccessLogs { get; init; }

    /// <summary>HTTP filters before the router (local rate limit, fault); null when there are none.</summary>
    public Filters.HttpFilterChain? HttpFilters { get; init; }

    /// <summary>Envoy's <c>use_remote_address</c>: the proxy is the edge; append to x-forwarded-for.</summary>
    public bool UseRemoteAddress { get; init; }

    public bool GenerateRequestId { get; init; } = true;

    public bool PreserveExternalRequestId { get; init; }

    /// <summary>An <c>upgrade_configs</c> entry enables WebSocket upgrades.</summary>
    public bool WebSocketEnabled { get; init; }

    public int MaxRequestHeadersBytes { get; init; } = 60 * 1024;

    public int MaxHeadersCount { get; init; } = 100;

    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>stream_idle_timeout: a request with no bytes either way for this long ends; zero disables it.</summary>
    public TimeSpan StreamIdleTimeout { get; init; } = StreamTimeouts.DefaultIdleTimeout;

    /// <summary>common_http_protocol_options.max_stream_duration; zero: no bound.</summary>
    public TimeSpan MaxStreamDuration { get; init; }

    /// <summary>Edge defaults for HTTP/2: 100 streams, 64 KiB stream window, 1 MiB connection window.</summary>
    public int Http2MaxConcurrentStreams { get; init; } = 100;

    public int Http2InitialStreamWindowSize { get; init; } = 64 * 1024;

    public int Http2InitialConnectionWindowSize { get; init; } = 1024 * 1024;

    public required Hcm Source { get; init; }
}
