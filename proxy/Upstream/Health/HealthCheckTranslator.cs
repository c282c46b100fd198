using System.Collections.Immutable;
using Herald.Proxy.Config;
using EnvoyHealthCheck = Envoy.Config.Core.V3.HealthCheck;

namespace Herald.Proxy.Upstream.Health;

/// <summary>Envoy v3 <c>Cluster.health_checks</c> (at most one) to a validated <see cref="HealthCheckConfig"/>.</summary>
internal static class HealthCheckTranslator
{
    public static HealthCheckConfig? Translate(IReadOnlyList<EnvoyHealthCheck> healthChecks, string path)
    {
        ArgumentNullException.ThrowIfNull(healthChecks);
        if (healthChecks.Count == 0)
        {
            return null;
        }

        if (healthChecks.Count > 1)
        {
            throw new ConfigException(
                FieldPolicy.Index(path, "health_checks", 1),
                $"{healthChecks.Count} health checks are configured; Herald runs one per cluster",
                "Keep a single entry in health_checks");
        }

        var checkPath = FieldPolicy.Index(path, "health_checks", 0);
        var check = healthChecks[0];
        FieldPolicy.RequireOnly(
            check,
            checkPath,
            "timeout",
            "interval",
            "initial_jitter",
            "interval_jitter",
            "interval_jitter_percent",
            "unhealthy_threshold",
            "healthy_threshold",
            "reuse_connection",
            "http_health_check",
            "tcp_health_check",
            "grpc_health_check",
            "no_traffic_interval",
            "no_traffic_healthy_interval",
            "unhealthy_interval",
            "unhealthy_edge_interval",
            "healthy_edge_interval");

        var timeout = Required(check.Timeout, checkPath, "timeout");
        var interval = Required(check.Interval, checkPath, "interval");
        var unhealthy = RequiredThreshold(check.UnhealthyThreshold, checkPath, "unhealthy_threshold");
        var healthy = RequiredThreshold(check.HealthyThreshold, checkPath, "healthy_threshold");
        if (check.IntervalJitterPercent > 100)
        {
            throw new ConfigException(FieldPolicy.Join(checkPath, "interval_jitter_percent"), $"{check.IntervalJitterPercent} is not a percentage", "Use a value from 0 to 100");
        }

        var config = new HealthCheckConfig
        {
            Kind = HealthCheckKind.Tcp,
            Timeout = timeout,
            Interval = interval,
            UnhealthyThreshold = unhealthy,
            HealthyThreshold = healthy,
            InitialJitter = Duration(check.InitialJitter, TimeSpan.Zero, checkPath, "initial_jitter", allowZero: true),
            IntervalJitter = Duration(check.IntervalJitter, TimeSpan.Zero, checkPath, "interval_jitter", allowZero: true),
            IntervalJitterPercent = check.IntervalJitterPercent,
            NoTrafficInterval = Duration(check.NoTrafficInterval, TimeSpan.FromSeconds(60), checkPath, "no_traffic_interval", allowZero: false),
            NoTrafficHealthyInterval = Optional(check.NoTrafficHealthyInterval, checkPath, "no_traffic_healthy_interval"),
            UnhealthyInterval = Optional(check.UnhealthyInterval, checkPath, "unhealthy_interval"),
            UnhealthyEdgeInterval = Optional(check.UnhealthyEdgeInterval, checkPath, "unhealthy_edge_interval"),
            HealthyEdgeInterval = Optional(check.HealthyEdgeInterval, checkPath, "healthy_edge_interval"),
        };

        return check.HealthCheckerCase switch
        {
            EnvoyHealthCheck.HealthCheckerOneofCase.HttpHealthCheck => TranslateHttp(check.HttpHealthCheck, FieldPolicy.Join(checkPath, "http_health_check"), config),
            EnvoyHealthCheck.HealthCheckerOneofCase.TcpHealthCheck => TranslateTcp(check.TcpHealthCheck, FieldPolicy.Join(checkPath, "tcp_health_check"), config),
            EnvoyHealthCheck.HealthCheckerOneofCase.GrpcHealthCheck => TranslateGrpc(check.GrpcHealthCheck, FieldPolicy.Join(checkPath, "grpc_health_check"), config),
            _ => throw new ConfigException(
                checkPath, "a health check needs a checker", "Set http_health_check, tcp_health_check or grpc_health_check"),
        };
    }

    /// <summary>An optional duration: <paramref name="fallback"/> when unset; otherwise valid and positive (or zero when allowed).</summary>
    internal static TimeSpan Duration(Google.Protobuf.WellKnownTypes.Duration? duration, TimeSpan fallback, string path, string field, bool allowZero)
    {
        if (duration is null)
        {
            return fallback;
        }

        var fieldPath = FieldPolicy.Join(path, field);
        TimeSpan value;
        try
        {
            value = duration.ToTimeSpan();
        }
        catch (InvalidOperationException)
        {
            throw new ConfigException(fieldPath, "the duration is not valid", "Use a duration such as 5s");
        }

        if (value < TimeSpan.Zero || (value == TimeSpan.Zero && !allowZero) || value > TimeSpan.FromDays(1))
        {
            throw new ConfigException(
                fieldPath,
                $"{value.TotalMilliseconds} ms is out of range",
                allowZero ? "Use a duration from 0s to 24h" : "Use a duration greater than 0 and at most 24h, such as 5s");
        }

        return value;
    }

    private static TimeSpan Required(Google.Protobuf.WellKnownTypes.Duration? duration, string path, string field)
    {
        if (duration is null)
        {
            throw new ConfigException(FieldPolicy.Join(path, field), $"a health check needs {field}", $"Set {field}, for example {field}: 5s");
        }

        return Duration(duration, TimeSpan.Zero, path, field, allowZero: false);
    }

    private static TimeSpan? Optional(Google.Protobuf.WellKnownTypes.Duration? duration, string path, string field) =>
        duration is null ? null : Duration(duration, TimeSpan.Zero, path, field, allowZero: false);

    private static uint RequiredThreshold(uint? value, string path, string field)
    {
        if (value is null or 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, field), $"a health check needs {field} of at least 1", $"Set {field}, for example {field}: 2");
        }

        return value.Value;
    }

    private static HealthCheckConfig TranslateHttp(EnvoyHealthCheck.Types.HttpHealthCheck http, string path, HealthCheckConfig config)
    {
        FieldPolicy.RequireOnly(http, path, "host", "path", "expected_statuses", "method");
        if (string.IsNullOrEmpty(http.Path) || http.Path[0] != '/' || http.Path.Any(c => c <= ' ' || c >= 0x7F))
        {
            throw new ConfigException(FieldPolicy.Join(path, "path"), $"'{http.Path}' is not a request path", "Set path to an absolute path such as /healthz");
        }

        if (http.Host.Any(c => c <= ' ' || c >= 0x7F))
        {
            throw new ConfigException(FieldPolicy.Join(path, "host"), $"'{http.Host}' is not a valid Host header", "Use a host name such as api.internal");
        }

        var method = http.Method switch
        {
            Envoy.Config.Core.V3.RequestMethod.MethodUnspecified or Envoy.Config.Core.V3.RequestMethod.Get => "GET",
            Envoy.Config.Core.V3.RequestMethod.Head => "HEAD",
            Envoy.Config.Core.V3.RequestMethod.Post => "POST",
            Envoy.Config.Core.V3.RequestMethod.Put => "PUT",
            Envoy.Config.Core.V3.RequestMethod.Delete => "DELETE",
            Envoy.Config.Core.V3.RequestMethod.Options => "OPTIONS",
            Envoy.Config.Core.V3.RequestMethod.Trace => "TRACE",
            Envoy.Config.Core.V3.RequestMethod.Patch => "PATCH",
            _ => throw new ConfigException(FieldPolicy.Join(path, "method"), $"method {http.Method} cannot be used for health checks", "Use GET (the default) or another method with no tunnel semantics"),
        };

        var statuses = ImmutableArray.CreateBuilder<(int Start, int End)>();
        for (var i = 0; i < http.ExpectedStatuses.Count; i++)
        {
            var range = http.ExpectedStatuses[i];
            var rangePath = FieldPolicy.Index(path, "expected_statuses", i);
            FieldPolicy.RequireOnly(range, rangePath, "start", "end");
            if (range.Start < 100 || range.End > 600 || range.Start >= range.End)
            {
                throw new ConfigException(
                    rangePath,
                    $"[{range.Start}, {range.End}) is not a status range",
                    "Use a half-open range within [100, 600), for example { start: 200, end: 300 }");
            }

            statuses.Add(((int)range.Start, (int)range.End));
        }

        return config with
        {
            Kind = HealthCheckKind.Http,
            HttpPath = http.Path,
            HttpHost = string.IsNullOrEmpty(http.Host) ? null : http.Host,
            HttpMethod = method,
            ExpectedStatuses = statuses.Count == 0 ? config.ExpectedStatuses : statuses.ToImmutable(),
        };
    }

    private static HealthCheckConfig TranslateTcp(EnvoyHealthCheck.Types.TcpHealthCheck tcp, string path, HealthCheckConfig config)
    {
        FieldPolicy.RequireOnly(tcp, path, "send", "receive");
        var send = tcp.Send is null ? [] : Payload(tcp.Send, FieldPolicy.Join(path, "send"));
        var receive = ImmutableArray.CreateBuilder<ImmutableArray<byte>>();
        var total = 0;
        for (var i = 0; i < tcp.Receive.Count; i++)
        {
            var block = Payload(tcp.Receive[i], FieldPolicy.Index(path, "receive", i));
            total += block.Length;
            if (block.IsEmpty || total > HealthCheckConfig.MaxPayloadBytes)
            {
                throw new ConfigException(
                    FieldPolicy.Index(path, "receive", i),
                    block.IsEmpty ? "an expected block is empty" : $"the expected blocks exceed {HealthCheckConfig.MaxPayloadBytes} bytes",
                    "Give each receive block some bytes, and keep them short");
            }

            receive.Add(block);
        }

        return config with { Kind = HealthCheckKind.Tcp, TcpSend = send, TcpReceive = receive.ToImmutable() };
    }

    private static HealthCheckConfig TranslateGrpc(EnvoyHealthCheck.Types.GrpcHealthCheck grpc, string path, HealthCheckConfig config)
    {
        FieldPolicy.RequireOnly(grpc, path, "service_name", "authority");
        if (grpc.Authority.Any(c => c <= ' ' || c >= 0x7F))
        {
            throw new ConfigException(FieldPolicy.Join(path, "authority"), $"'{grpc.Authority}' is not a valid authority", "Use a host name such as api.internal");
        }

        return config with
        {
            Kind = HealthCheckKind.Grpc,
            GrpcServiceName = grpc.ServiceName,
            GrpcAuthority = string.IsNullOrEmpty(grpc.Authority) ? null : grpc.Authority,
        };
    }

    private static ImmutableArray<byte> Payload(EnvoyHealthCheck.Types.Payload payload, string path)
    {
        FieldPolicy.RequireOnly(payload, path, "text", "binary");
        switch (payload.PayloadCase)
        {
            case EnvoyHealthCheck.Types.Payload.PayloadOneofCase.Text:
                try
                {
                    return [.. Convert.FromHexString(payload.Text)];
                }
                catch (FormatException)
                {
                    throw new ConfigException(FieldPolicy.Join(path, "text"), "text is not hex-encoded bytes", "Give the payload as hex, for example text: \"50494E47\" for PING");
                }

            case EnvoyHealthCheck.Types.Payload.PayloadOneofCase.Binary:
                return [.. payload.Binary.ToByteArray()];
            default:
                throw new ConfigException(path, "a payload needs text or binary", "Set text (hex) or binary");
        }
    }
}
