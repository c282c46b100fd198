using Herald.Proxy.Config;
using Herald.Proxy.Http.Filters;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using HttpConnectionManagerProto = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;

namespace Herald.Proxy.Http;

/// <summary>Envoy's HttpConnectionManager -> <see cref="HttpConnectionManagerConfig"/>.</summary>
internal static class HttpConnectionManagerTranslator
{
    public const string RouterFilterName = "envoy.filters.http.router";
    public const string RouterTypeUrl = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

    public static HttpConnectionManagerConfig Translate(HttpConnectionManagerProto config, string path, StatsStore stats) =>
        Translate(config, path, stats, null);

    /// <summary>
    /// Translates an HCM; with <c>rds</c>, the route configuration comes from
    /// <paramref name="routes"/> (an RDS name not delivered yet routes nothing: 404).
    /// </summary>
    public static HttpConnectionManagerConfig Translate(HttpConnectionManagerProto config, string path, StatsStore stats, Func<string, Envoy.Config.Route.V3.RouteConfiguration?>? routes)
    {
        FieldPolicy.RequireOnly(
            config,
            path,
            "codec_type",
            "stat_prefix",
            "route_config",
            "rds",
            "http_filters",
            "access_log",
            "use_remote_address",
            "generate_request_id",
            "preserve_external_request_id",
            "upgrade_configs",
            "common_http_protocol_options",
            "http_protocol_options",
            "http2_protocol_options",
            "max_request_headers_kb",
            "xff_num_trusted_hops",
            "stream_idle_timeout");

        if (string.IsNullOrEmpty(config.StatPrefix))
        {
            throw new ConfigException(FieldPolicy.Join(path, "stat_prefix"), "stat_prefix is required", "Set a stat prefix such as 'ingress_http'");
        }

        var codec = config.CodecType switch
        {
            HttpConnectionManagerProto.Types.CodecType.Auto => CodecType.Auto,
            HttpConnectionManagerProto.Types.CodecType.Http1 => CodecType.Http1,
            HttpConnectionManagerProto.Types.CodecType.Http2 => CodecType.Http2,
            _ => throw new ConfigException(
                FieldPolicy.Join(path, "codec_type"),
                $"codec_type {config.CodecType} is not supported by Herald",
                "Use AUTO, HTTP1 or HTTP2"),
        };

        RouteTable routeTable;
        string? rdsName = null;
        if (config.Rds is { } rds)
        {
            var rdsPath = FieldPolicy.Join(path, "rds");
            FieldPolicy.RequireOnly(rds, rdsPath, "config_source", "route_config_name");
            if (rds.ConfigSource?.Ads is null)
            {
                throw new ConfigException(FieldPolicy.Join(rdsPath, "config_source"), "Herald fetches routes over ADS only", "Set config_source: { ads: {} }");
            }

            if (routes is null)
            {
                throw new ConfigException(rdsPath, "rds needs a control plane (dynamic_resources with ads_config)", "Put the routes inline under route_config, or configure ADS");
            }

            rdsName = rds.RouteConfigName;
            var delivered = routes(rdsName);
            routeTable = RouteTable.Translate(
                delivered ?? new Envoy.Config.Route.V3.RouteConfiguration { Name = rdsName },
                $"RouteConfiguration '{rdsName}'");
        }
        else if (config.RouteConfig is not null)
        {
            routeTable = RouteTable.Translate(config.RouteConfig, FieldPolicy.Join(path, "route_config"));
        }
        else
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "route_config"),
                "an HTTP connection manager needs route_config (inline) or rds",
                "Put the routes inline under route_config");
        }

        var httpFilters = TranslateHttpFilters(config, path, stats);

        var accessLogs = new List<IAccessLogSink>();
        for (var i = 0; i < config.AccessLog.Count; i++)
        {
            accessLogs.Add(AccessLogTranslator.Translate(config.AccessLog[i], FieldPolicy.Index(path, "access_log", i), stats));
        }

        var webSocket = false;
        for (var i = 0; i < config.UpgradeConfigs.Count; i++)
        {
            var upgrade = config.UpgradeConfigs[i];
            var upgradePath = FieldPolicy.Index(path, "upgrade_configs", i);
            FieldPolicy.RequireOnly(upgrade, upgradePath, "upgrade_type", "enabled");
            if (!string.Equals(upgrade.UpgradeType, "websocket", StringComparison.OrdinalIgnoreCase))
            {
                throw new ConfigException(
                    FieldPolicy.Join(upgradePath, "upgrade_type"),
                    $"upgrade type '{upgrade.UpgradeType}' is not supported by Herald",
                    "Only 'websocket' upgrades are relayed");
            }

            webSocket = upgrade.Enabled ?? true;
        }

        var idleTimeout = TimeSpan.FromHours(1);
        var maxHeadersCount = 100;
        var maxStreamDuration = TimeSpan.Zero;
        if (config.CommonHttpProtocolOptions is { } common)
        {
            var commonPath = FieldPolicy.Join(path, "common_http_protocol_options");
            FieldPolicy.RequireOnly(common, commonPath, "idle_timeout", "max_headers_count", "max_stream_duration");
            if (common.IdleTimeout is not null)
            {
                idleTimeout = common.IdleTimeout.ToTimeSpan();
            }

            if (common.MaxStreamDuration is not null)
            {
                maxStreamDuration = NonNegative(common.MaxStreamDuration, FieldPolicy.Join(commonPath, "max_stream_duration"));
            }

            if (common.MaxHeadersCount is not null)
            {
                maxHeadersCount = (int)common.MaxHeadersCount.Value;
                if (maxHeadersCount < 1)
                {
                    throw new ConfigException(FieldPolicy.Join(commonPath, "max_headers_count"), "must be at least 1", "Set a positive header count");
                }
            }
        }

        if (config.HttpProtocolOptions is { } http1)
        {
            FieldPolicy.RequireOnly(http1, FieldPolicy.Join(path, "http_protocol_options"));
        }

        var maxStreams = 100;
        var streamWindow = 64 * 1024;
        var connectionWindow = 1024 * 1024;
        if (config.Http2ProtocolOptions is { } http2)
        {
            var http2Path = FieldPolicy.Join(path, "http2_protocol_options");
            FieldPolicy.RequireOnly(http2, http2Path, "max_concurrent_streams", "initial_stream_window_size", "initial_connection_window_size");
            maxStreams = (int)Math.Min(int.MaxValue, http2.MaxConcurrentStreams ?? 100);
            streamWindow = (int)Math.Min(int.MaxValue, http2.InitialStreamWindowSize ?? (uint)streamWindow);
            connectionWindow = (int)Math.Min(int.MaxValue, http2.InitialConnectionWindowSize ?? (uint)connectionWindow);
            if (streamWindow < 65535 || connectionWindow < 65535)
            {
                throw new ConfigException(http2Path, "HTTP/2 windows must be at least 65535", "Raise initial_stream_window_size / initial_connection_window_size");
            }
        }

        var streamIdleTimeout = StreamTimeouts.DefaultIdleTimeout;
        if (config.StreamIdleTimeout is not null)
        {
            streamIdleTimeout = NonNegative(config.StreamIdleTimeout, FieldPolicy.Join(path, "stream_idle_timeout"));
        }

        var maxHeadersKb = config.MaxRequestHeadersKb ?? 60;
        if (maxHeadersKb is < 1 or > 8192)
        {
            throw new ConfigException(FieldPolicy.Join(path, "max_request_headers_kb"), "must be between 1 and 8192", "Use a value such as 60");
        }

        if (config.XffNumTrustedHops != 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "xff_num_trusted_hops"), "trusted hops other than 0 are not supported by Herald yet", "Remove xff_num_trusted_hops");
        }

        return new HttpConnectionManagerConfig
        {
            StatPrefix = config.StatPrefix,
            Codec = codec,
            RouteTable = routeTable,
            RdsName = rdsName,
            AccessLogs = accessLogs,
            HttpFilters = httpFilters,
            UseRemoteAddress = config.UseRemoteAddress ?? false,
            GenerateRequestId = config.GenerateRequestId ?? true,
            PreserveExternalRequestId = config.PreserveExternalRequestId,
            WebSocketEnabled = webSocket,
            MaxRequestHeadersBytes = (int)maxHeadersKb * 1024,
            MaxHeadersCount = maxHeadersCount,
            IdleTimeout = idleTimeout,
            StreamIdleTimeout = streamIdleTimeout,
            MaxStreamDuration = maxStreamDuration,
            Http2MaxConcurrentStreams = maxStreams,
            Http2InitialStreamWindowSize = streamWindow,
            Http2InitialConnectionWindowSize = connectionWindow,
            Source = config,
        };
    }

    private static TimeSpan NonNegative(Google.Protobuf.WellKnownTypes.Duration duration, string path)
    {
        if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Nanos >= 1_000_000_000 || duration.Seconds > 315_576_000_000)
        {
            throw new ConfigException(path, $"{duration} is not a valid non-negative duration", "Use a duration such as 300s, or 0s to disable it");
        }

        return duration.ToTimeSpan();
    }

    // The router last; before it, Herald's local rate limit and fault filters, each at most once, in any order.
    private static HttpFilterChain? TranslateHttpFilters(HttpConnectionManagerProto config, string path, StatsStore stats)
    {
        if (config.HttpFilters.Count == 0)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "http_filters"),
                "http_filters is empty",
                $"Add the router filter ({RouterFilterName}) as the last HTTP filter");
        }

        List<HttpFilter>? filters = null;
        for (var i = 0; i < config.HttpFilters.Count; i++)
        {
            var filter = config.HttpFilters[i];
            var filterPath = FieldPolicy.Index(path, "http_filters", i);
            FieldPolicy.RequireOnly(filter, filterPath, "name", "typed_config");
            var typeUrl = filter.TypedConfig?.TypeUrl;
            var isRouter = typeUrl is null ? filter.Name == RouterFilterName : typeUrl == RouterTypeUrl;
            var last = i == config.HttpFilters.Count - 1;
            if (isRouter)
            {
                if (!last)
                {
                    throw new ConfigException(filterPath, "the router filter must be the last HTTP filter", "Move it to the end of http_filters");
                }

                if (filter.TypedConfig is not null)
                {
                    var router = filter.TypedConfig.Unpack<Envoy.Extensions.Filters.Http.Router.V3.Router>();
                    FieldPolicy.RequireOnly(router, FieldPolicy.Join(filterPath, "typed_config"));
                }

                continue;
            }

            var typedPath = FieldPolicy.Join(filterPath, "typed_config");
            HttpFilter translated = typeUrl switch
            {
                LocalRateLimitSettings.TypeUrl => new LocalRateLimitFilter(
                    LocalRateLimitSettings.Translate(filter.TypedConfig!.Unpack<Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit>(), typedPath, perRoute: false),
                    stats),
                FaultSettings.TypeUrl => new FaultFilter(
                    FaultSettings.Translate(filter.TypedConfig!.Unpack<Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault>(), typedPath),
                    stats,
                    config.StatPrefix),
                _ => throw new ConfigException(
                    filterPath,
                    $"HTTP filter '{filter.Name}' ({typeUrl ?? "no typed_config"}) is not supported by Herald",
                    $"Herald's HTTP filter chain supports {LocalRateLimitSettings.FilterName} ({LocalRateLimitSettings.TypeUrl}) and {FaultSettings.FilterName} ({FaultSettings.TypeUrl}), then {RouterFilterName} last"),
            };
            filters ??= [];
            foreach (var earlier in filters)
            {
                if (earlier.GetType() == translated.GetType())
                {
                    throw new ConfigException(filterPath, $"{translated.Name} appears twice in http_filters", "Keep one; use typed_per_filter_config on routes for different limits");
                }
            }

            if (last)
            {
                throw new ConfigException(filterPath, $"the last HTTP filter is {translated.Name}, not the router", $"Add {RouterFilterName} at the end of http_filters");
            }

            filters.Add(translated);
        }

        return filters is null ? null : new HttpFilterChain(filters);
    }
}
