using Envoy.Config.Core.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Proxy.Upstream;
using Herald.Proxy.Upstream.Health;
using Xunit;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;
using EnvoyOutlierDetection = Envoy.Config.Cluster.V3.OutlierDetection;

namespace Herald.Tests.Upstream.Health;

/// <summary>outlier_detection and health_checks through <see cref="ClusterTranslator"/>.</summary>
public sealed class HealthTranslationTests
{
    private const string P = "static_resources.clusters[0]";

    [Fact]
    public void Translate_EmptyOutlierDetection_HasEnvoyDefaults()
    {
        var cluster = Cluster();
        cluster.OutlierDetection = new EnvoyOutlierDetection();

        var config = ClusterTranslator.Translate(cluster, P).OutlierDetection;

        Assert.Equal(new OutlierDetectionConfig(), config);
        Assert.NotNull(config);
        Assert.Equal(5u, config.Consecutive5xx);
        Assert.Equal(5u, config.ConsecutiveGatewayFailure);
        Assert.Equal(100u, config.EnforcingConsecutive5xx);
        Assert.Equal(0u, config.EnforcingConsecutiveGatewayFailure);
        Assert.Equal(TimeSpan.FromSeconds(10), config.Interval);
        Assert.Equal(TimeSpan.FromSeconds(30), config.BaseEjectionTime);
        Assert.Equal(TimeSpan.FromSeconds(300), config.MaxEjectionTime);
        Assert.Equal(10u, config.MaxEjectionPercent);
        Assert.Equal(100u, config.EnforcingSuccessRate);
        Assert.Equal(5u, config.SuccessRateMinimumHosts);
        Assert.Equal(100u, config.SuccessRateRequestVolume);
        Assert.Equal(1900u, config.SuccessRateStdevFactor);
        Assert.True(config.SuccessfulActiveHealthCheckUnejectHost);
    }

    [Fact]
    public void Translate_EveryOutlierField_IsHonoured()
    {
        var cluster = Cluster();
        cluster.OutlierDetection = new EnvoyOutlierDetection
        {
            Consecutive5Xx = 3,
            ConsecutiveGatewayFailure = 2,
            EnforcingConsecutive5Xx = 50,
            EnforcingConsecutiveGatewayFailure = 100,
            Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            BaseEjectionTime = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)),
            MaxEjectionTime = Duration.FromTimeSpan(TimeSpan.FromSeconds(20)),
            MaxEjectionTimeJitter = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
            MaxEjectionPercent = 50,
            EnforcingSuccessRate = 0,
            SuccessRateMinimumHosts = 3,
            SuccessRateRequestVolume = 10,
            SuccessRateStdevFactor = 1000,
            SuccessfulActiveHealthCheckUnejectHost = false,
        };

        var config = ClusterTranslator.Translate(cluster, P).OutlierDetection;

        Assert.Equal(
            new OutlierDetectionConfig
            {
                Consecutive5xx = 3,
                ConsecutiveGatewayFailure = 2,
                EnforcingConsecutive5xx = 50,
                EnforcingConsecutiveGatewayFailure = 100,
                Interval = TimeSpan.FromSeconds(1),
                BaseEjectionTime = TimeSpan.FromSeconds(2),
                MaxEjectionTime = TimeSpan.FromSeconds(20),
                MaxEjectionTimeJitter = TimeSpan.FromSeconds(1),
                MaxEjectionPercent = 50,
                EnforcingSuccessRate = 0,
                SuccessRateMinimumHosts = 3,
                SuccessRateRequestVolume = 10,
                SuccessRateStdevFactor = 1000,
                SuccessfulActiveHealthCheckUnejectHost = false,
            },
            config);
    }

    [Fact]
    public void Translate_BaseEjectionAboveDefaultMax_RaisesTheMax()
    {
        var cluster = Cluster();
        cluster.OutlierDetection = new EnvoyOutlierDetection { BaseEjectionTime = Duration.FromTimeSpan(TimeSpan.FromMinutes(10)) };

        Assert.Equal(TimeSpan.FromMinutes(10), ClusterTranslator.Translate(cluster, P).OutlierDetection!.MaxEjectionTime);
    }

    public static TheoryData<string, Action<EnvoyOutlierDetection>> BadOutliers => new()
    {
        { "max_ejection_percent", o => o.MaxEjectionPercent = 101 },
        { "enforcing_consecutive_5xx", o => o.EnforcingConsecutive5Xx = 200 },
        { "enforcing_consecutive_gateway_failure", o => o.EnforcingConsecutiveGatewayFailure = 101 },
        { "enforcing_success_rate", o => o.EnforcingSuccessRate = 101 },
        { "consecutive_5xx", o => o.Consecutive5Xx = 0 },
        { "consecutive_gateway_failure", o => o.ConsecutiveGatewayFailure = 0 },
        { "success_rate_request_volume", o => o.SuccessRateRequestVolume = 0 },
        { "interval", o => o.Interval = new Duration() },
        { "base_ejection_time", o => o.BaseEjectionTime = new Duration { Seconds = -1 } },
        { "max_ejection_time", o => (o.BaseEjectionTime, o.MaxEjectionTime) = (Duration.FromTimeSpan(TimeSpan.FromSeconds(60)), Duration.FromTimeSpan(TimeSpan.FromSeconds(10))) },
        { "split_external_local_origin_errors", o => o.SplitExternalLocalOriginErrors = true },
        { "failure_percentage_threshold", o => o.FailurePercentageThreshold = 80 },
        { "consecutive_local_origin_failure", o => o.ConsecutiveLocalOriginFailure = 3 },
    };

    [Theory]
    [MemberData(nameof(BadOutliers))]
    public void Translate_BadOutlierField_ThrowsNamingIt(string field, Action<EnvoyOutlierDetection> mutate)
    {
        var cluster = Cluster();
        cluster.OutlierDetection = new EnvoyOutlierDetection();
        mutate(cluster.OutlierDetection);

        var error = Assert.Throws<ConfigException>(() => ClusterTranslator.Translate(cluster, P));

        Assert.Equal($"{P}.outlier_detection.{field}", error.FieldPath);
        Assert.NotEmpty(error.Fix);
    }

    [Fact]
    public void Translate_HttpHealthCheckWithEveryField_IsHonoured()
    {
        var check = Check();
        check.InitialJitter = Duration.FromTimeSpan(TimeSpan.FromSeconds(1));
        check.IntervalJitter = Duration.FromTimeSpan(TimeSpan.FromSeconds(2));
        check.IntervalJitterPercent = 10;
        check.ReuseConnection = true;
        check.NoTrafficInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(30));
        check.NoTrafficHealthyInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(40));
        check.UnhealthyInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(6));
        check.UnhealthyEdgeInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(7));
        check.HealthyEdgeInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(8));
        check.HttpHealthCheck = new HealthCheck.Types.HttpHealthCheck { Path = "/healthz", Host = "web.internal", Method = RequestMethod.Head };
        check.HttpHealthCheck.ExpectedStatuses.Add(new Envoy.Type.V3.Int64Range { Start = 200, End = 300 });
        check.HttpHealthCheck.ExpectedStatuses.Add(new Envoy.Type.V3.Int64Range { Start = 404, End = 405 });

        var config = Translate(check);

        Assert.Equal(HealthCheckKind.Http, config.Kind);
        Assert.Equal(TimeSpan.FromSeconds(1), config.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(5), config.Interval);
        Assert.Equal(3u, config.UnhealthyThreshold);
        Assert.Equal(2u, config.HealthyThreshold);
        Assert.Equal(TimeSpan.FromSeconds(1), config.InitialJitter);
        Assert.Equal(TimeSpan.FromSeconds(2), config.IntervalJitter);
        Assert.Equal(10u, config.IntervalJitterPercent);
        Assert.Equal(TimeSpan.FromSeconds(30), config.NoTrafficInterval);
        Assert.Equal(TimeSpan.FromSeconds(40), config.NoTrafficHealthyInterval);
        Assert.Equal(TimeSpan.FromSeconds(6), config.UnhealthyInterval);
        Assert.Equal(TimeSpan.FromSeconds(7), config.UnhealthyEdgeInterval);
        Assert.Equal(TimeSpan.FromSeconds(8), config.HealthyEdgeInterval);
        Assert.Equal("/healthz", config.HttpPath);
        Assert.Equal("web.internal", config.HttpHost);
        Assert.Equal("HEAD", config.HttpMethod);
        Assert.True(config.IsExpectedStatus(204));
        Assert.True(config.IsExpectedStatus(404));
        Assert.False(config.IsExpectedStatus(300));
        Assert.False(config.IsExpectedStatus(503));
    }

    [Fact]
    public void Translate_HttpHealthCheckDefaults_Expect200OnlyAndNoTraffic60s()
    {
        var check = Check();
        check.HttpHealthCheck = new HealthCheck.Types.HttpHealthCheck { Path = "/" };

        var config = Translate(check);

        Assert.True(config.IsExpectedStatus(200));
        Assert.False(config.IsExpectedStatus(204));
        Assert.Equal("GET", config.HttpMethod);
        Assert.Null(config.HttpHost);
        Assert.Equal(TimeSpan.FromSeconds(60), config.NoTrafficInterval);
    }

    [Fact]
    public void Translate_TcpHealthCheck_DecodesHexPayloads()
    {
        var check = Check();
        check.TcpHealthCheck = new HealthCheck.Types.TcpHealthCheck { Send = new HealthCheck.Types.Payload { Text = "50494E47" } };
        check.TcpHealthCheck.Receive.Add(new HealthCheck.Types.Payload { Text = "504F4E47" });
        check.TcpHealthCheck.Receive.Add(new HealthCheck.Types.Payload { Binary = ByteString.CopyFromUtf8("!") });

        var config = Translate(check);

        Assert.Equal(HealthCheckKind.Tcp, config.Kind);
        Assert.Equal("PING"u8.ToArray(), config.TcpSend.ToArray());
        Assert.Equal(2, config.TcpReceive.Length);
        Assert.Equal("PONG"u8.ToArray(), config.TcpReceive[0].ToArray());
    }

    [Fact]
    public void Translate_GrpcHealthCheck_TakesServiceAndAuthority()
    {
        var check = Check();
        check.GrpcHealthCheck = new HealthCheck.Types.GrpcHealthCheck { ServiceName = "shop.Cart", Authority = "cart.internal" };

        var config = Translate(check);

        Assert.Equal(HealthCheckKind.Grpc, config.Kind);
        Assert.Equal("shop.Cart", config.GrpcServiceName);
        Assert.Equal("cart.internal", config.GrpcAuthority);
    }

    public static TheoryData<string, Action<HealthCheck>> BadChecks => new()
    {
        { ".timeout", c => c.Timeout = null },
        { ".interval", c => c.Interval = new Duration() },
        { ".unhealthy_threshold", c => c.UnhealthyThreshold = null },
        { ".healthy_threshold", c => c.HealthyThreshold = 0 },
        { ".interval_jitter_percent", c => c.IntervalJitterPercent = 101 },
        { ".no_traffic_interval", c => c.NoTrafficInterval = new Duration() },
        { ".always_log_health_check_failures", c => c.AlwaysLogHealthCheckFailures = true },
        { ".alt_port", c => c.AltPort = 9000 },
        { ".http_health_check.path", c => c.HttpHealthCheck.Path = "healthz" },
        { ".http_health_check.expected_statuses[0]", c => c.HttpHealthCheck.ExpectedStatuses.Add(new Envoy.Type.V3.Int64Range { Start = 300, End = 200 }) },
        { ".http_health_check.method", c => c.HttpHealthCheck.Method = RequestMethod.Connect },
        { ".http_health_check.retriable_statuses", c => c.HttpHealthCheck.RetriableStatuses.Add(new Envoy.Type.V3.Int64Range { Start = 500, End = 501 }) },
        { ".http_health_check.codec_client_type", c => c.HttpHealthCheck.CodecClientType = Envoy.Type.V3.CodecClientType.Http2 },
        { ".tcp_health_check.send.text", c => c.TcpHealthCheck = new HealthCheck.Types.TcpHealthCheck { Send = new HealthCheck.Types.Payload { Text = "zz" } } },
        { ".grpc_health_check.initial_metadata", c => (c.GrpcHealthCheck = new HealthCheck.Types.GrpcHealthCheck()).InitialMetadata.Add(new HeaderValueOption()) },
    };

    [Theory]
    [MemberData(nameof(BadChecks))]
    public void Translate_BadHealthCheckField_ThrowsNamingIt(string field, Action<HealthCheck> mutate)
    {
        var check = Check();
        check.HttpHealthCheck = new HealthCheck.Types.HttpHealthCheck { Path = "/" };
        mutate(check);
        var cluster = Cluster();
        cluster.HealthChecks.Add(check);

        var error = Assert.Throws<ConfigException>(() => ClusterTranslator.Translate(cluster, P));

        Assert.Equal($"{P}.health_checks[0]{field}", error.FieldPath);
    }

    [Fact]
    public void Translate_NoChecker_ThrowsNamingTheCheck()
    {
        var cluster = Cluster();
        cluster.HealthChecks.Add(Check());

        var error = Assert.Throws<ConfigException>(() => ClusterTranslator.Translate(cluster, P));

        Assert.Equal($"{P}.health_checks[0]", error.FieldPath);
    }

    [Fact]
    public void Translate_TwoHealthChecks_ThrowsNamingTheSecond()
    {
        var cluster = Cluster();
        for (var i = 0; i < 2; i++)
        {
            var check = Check();
            check.TcpHealthCheck = new HealthCheck.Types.TcpHealthCheck();
            cluster.HealthChecks.Add(check);
        }

        var error = Assert.Throws<ConfigException>(() => ClusterTranslator.Translate(cluster, P));

        Assert.Equal($"{P}.health_checks[1]", error.FieldPath);
    }

    [Fact]
    public void Translate_OriginalDstWithHealthChecks_Throws()
    {
        var cluster = new EnvoyCluster { Name = "passthrough", Type = EnvoyCluster.Types.DiscoveryType.OriginalDst, LbPolicy = EnvoyCluster.Types.LbPolicy.ClusterProvided };
        cluster.OutlierDetection = new EnvoyOutlierDetection();

        var error = Assert.Throws<ConfigException>(() => ClusterTranslator.Translate(cluster, P));

        Assert.Equal($"{P}.outlier_detection", error.FieldPath);
    }

    [Fact]
    public void Translate_LbConfigCopy_KeepsHealthSettings()
    {
        var cluster = Cluster();
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new EnvoyCluster.Types.RingHashLbConfig { MinimumRingSize = 16 };
        cluster.OutlierDetection = new EnvoyOutlierDetection();
        var check = Check();
        check.TcpHealthCheck = new HealthCheck.Types.TcpHealthCheck();
        cluster.HealthChecks.Add(check);

        var config = ClusterTranslator.Translate(cluster, P);

        Assert.NotNull(config.OutlierDetection);
        Assert.NotNull(config.HealthCheck);
    }

    private static HealthCheckConfig Translate(HealthCheck check)
    {
        var cluster = Cluster();
        cluster.HealthChecks.Add(check);
        return ClusterTranslator.Translate(cluster, P).HealthCheck!;
    }

    private static HealthCheck Check() => new()
    {
        Timeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)),
        Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
        UnhealthyThreshold = 3,
        HealthyThreshold = 2,
    };

    private static EnvoyCluster Cluster() => new() { Name = "web", Type = EnvoyCluster.Types.DiscoveryType.Static };
}
