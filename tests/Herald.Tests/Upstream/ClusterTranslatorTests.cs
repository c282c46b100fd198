using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Proxy.Upstream;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;
using Xunit;

namespace Herald.Tests.Upstream;

public sealed class ClusterTranslatorTests
{
    private const string P = "static_resources.clusters[0]";
    private const string Lb0 = P + ".load_assignment.endpoints[0].lb_endpoints[0]";

    [Fact]
    public void Translate_MinimalStatic_HasDefaults()
    {
        var config = ClusterTranslator.Translate(Static("web", ("10.0.0.1", 8080)), P);

        Assert.Equal("web", config.Name);
        Assert.Equal(DiscoveryType.Static, config.Type);
        Assert.Equal(LoadBalancerPolicy.RoundRobin, config.LbPolicy);
        Assert.Equal(TimeSpan.FromSeconds(5), config.ConnectTimeout);
        Assert.Equal(UpstreamProtocol.Http1, config.Protocol);
        Assert.Equal(TimeSpan.FromSeconds(5), config.DnsRefreshRate);
        Assert.Equal(1024UL, config.RingHashMinimumSize);
        Assert.Equal(8UL * 1024 * 1024, config.RingHashMaximumSize);
        Assert.Equal(65537, config.MaglevTableSize);
        Assert.Equal(2, config.LeastRequestChoiceCount);
        Assert.Equal([new EndpointConfig("10.0.0.1", 8080, 1, 0, true)], config.Endpoints.ToArray());
    }

    [Fact]
    public void Translate_Source_IsTheResourceForChangeDetection()
    {
        var cluster = Static("web", ("10.0.0.1", 8080));
        var config = ClusterTranslator.Translate(cluster, P);

        Assert.Equal(cluster, config.Source);
        Assert.Equal(Static("web", ("10.0.0.1", 8080)), config.Source);
        Assert.NotEqual(Static("web", ("10.0.0.2", 8080)), config.Source);
    }

    [Theory]
    [InlineData(EnvoyCluster.Types.DiscoveryType.StrictDns, (int)DiscoveryType.StrictDns)]
    [InlineData(EnvoyCluster.Types.DiscoveryType.LogicalDns, (int)DiscoveryType.LogicalDns)]
    [InlineData(EnvoyCluster.Types.DiscoveryType.Static, (int)DiscoveryType.Static)]
    public void Translate_Type_Maps(EnvoyCluster.Types.DiscoveryType type, int expected)
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.Type = type;

        Assert.Equal((DiscoveryType)expected, ClusterTranslator.Translate(cluster, P).Type);
    }

    [Fact]
    public void Translate_OriginalDstWithClusterProvided_HasNoEndpointsAndDefaultCleanup()
    {
        var config = ClusterTranslator.Translate(OriginalDst("PassthroughCluster"), P);

        Assert.Equal(DiscoveryType.OriginalDst, config.Type);
        Assert.Equal(LoadBalancerPolicy.ClusterProvided, config.LbPolicy);
        Assert.Empty(config.Endpoints);
        Assert.Equal(TimeSpan.FromSeconds(5), config.CleanupInterval);
        Assert.Null(config.SourceAddress);
    }

    [Fact]
    public void Translate_OriginalDstWithRoundRobin_ThrowsNamingLbPolicy()
    {
        var cluster = OriginalDst("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.RoundRobin;

        var error = Reject(cluster, P + ".lb_policy");
        Assert.Contains("CLUSTER_PROVIDED", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_OriginalDstWithLoadAssignment_ThrowsNamingLoadAssignment()
    {
        var cluster = OriginalDst("web");
        cluster.LoadAssignment = Assignment(LbEndpoint("10.0.0.1", 80, null, HealthStatus.Unknown));

        Reject(cluster, P + ".load_assignment");
    }

    [Fact]
    public void Translate_CleanupIntervalOnStatic_ThrowsNamingCleanupInterval()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.CleanupInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1));

        Reject(cluster, P + ".cleanup_interval");
    }

    [Fact]
    public void Translate_CleanupInterval_IsRead()
    {
        var cluster = OriginalDst("web");
        cluster.CleanupInterval = Duration.FromTimeSpan(TimeSpan.FromSeconds(30));

        Assert.Equal(TimeSpan.FromSeconds(30), ClusterTranslator.Translate(cluster, P).CleanupInterval);
    }

    [Fact]
    public void Translate_UpstreamBindConfig_IsTheSourceAddress()
    {
        var cluster = OriginalDst("inbound|8080||b");
        cluster.UpstreamBindConfig = new BindConfig { SourceAddress = new SocketAddress { Address = "127.0.0.6" } };

        Assert.Equal(new System.Net.IPEndPoint(System.Net.IPAddress.Parse("127.0.0.6"), 0), ClusterTranslator.Translate(cluster, P).SourceAddress);
    }

    [Fact]
    public void Translate_UpstreamBindConfigNotAnAddress_ThrowsNamingAddress()
    {
        var cluster = OriginalDst("web");
        cluster.UpstreamBindConfig = new BindConfig { SourceAddress = new SocketAddress { Address = "localhost" } };

        Reject(cluster, P + ".upstream_bind_config.source_address.address");
    }

    [Fact]
    public void Translate_UpstreamBindConfigWithFreebind_ThrowsNamingFreebind()
    {
        var cluster = OriginalDst("web");
        cluster.UpstreamBindConfig = new BindConfig { SourceAddress = new SocketAddress { Address = "127.0.0.6" }, Freebind = true };

        Reject(cluster, P + ".upstream_bind_config.freebind");
    }

    [Fact]
    public void Translate_UseDownstreamProtocolConfig_FollowsTheClient()
    {
        var cluster = OriginalDst("PassthroughCluster");
        var options = new HttpProtocolOptions
        {
            UseDownstreamProtocolConfig = new HttpProtocolOptions.Types.UseDownstreamHttpConfig
            {
                HttpProtocolOptions = new Http1ProtocolOptions(),
                Http2ProtocolOptions = new Http2ProtocolOptions(),
            },
        };
        cluster.TypedExtensionProtocolOptions.Add(ClusterTranslator.HttpProtocolOptionsKey, Any.Pack(options));

        Assert.Equal(UpstreamProtocol.UseDownstream, ClusterTranslator.Translate(cluster, P).Protocol);
    }

    [Fact]
    public void Translate_EdsInStaticBootstrap_ThrowsNamingType()
    {
        var cluster = new EnvoyCluster { Name = "web", Type = EnvoyCluster.Types.DiscoveryType.Eds };

        var error = Reject(cluster, P + ".type");
        Assert.Contains("control plane", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_EdsWithAssignment_TakesEndpointsByServiceName()
    {
        var cluster = new EnvoyCluster
        {
            Name = "web",
            Type = EnvoyCluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new EnvoyCluster.Types.EdsClusterConfig
            {
                ServiceName = "web-eds",
                EdsConfig = new Envoy.Config.Core.V3.ConfigSource { Ads = new Envoy.Config.Core.V3.AggregatedConfigSource() },
            },
        };
        var assignment = new Envoy.Config.Endpoint.V3.ClusterLoadAssignment { ClusterName = "web-eds" };
        var locality = new Envoy.Config.Endpoint.V3.LocalityLbEndpoints();
        locality.LbEndpoints.Add(new Envoy.Config.Endpoint.V3.LbEndpoint
        {
            Endpoint = new Envoy.Config.Endpoint.V3.Endpoint
            {
                Address = new Envoy.Config.Core.V3.Address
                {
                    SocketAddress = new Envoy.Config.Core.V3.SocketAddress { Address = "10.0.0.7", PortValue = 8080 },
                },
            },
        });
        assignment.Endpoints.Add(locality);

        var config = ClusterTranslator.Translate(cluster, P, name => name == "web-eds" ? assignment : null);

        Assert.Equal(DiscoveryType.Eds, config.Type);
        Assert.Equal("web-eds", config.EdsServiceName);
        var endpoint = Assert.Single(config.Endpoints);
        Assert.Equal("10.0.0.7", endpoint.Host);
        Assert.Equal(8080, endpoint.Port);
    }

    [Fact]
    public void Translate_ConnectTimeout_IsRead()
    {
        var cluster = Static("web");
        cluster.ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(250));

        Assert.Equal(TimeSpan.FromMilliseconds(250), ClusterTranslator.Translate(cluster, P).ConnectTimeout);
    }

    [Fact]
    public void Translate_ZeroConnectTimeout_Throws()
    {
        var cluster = Static("web");
        cluster.ConnectTimeout = new Duration();

        Reject(cluster, P + ".connect_timeout");
    }

    [Theory]
    [InlineData(EnvoyCluster.Types.LbPolicy.RoundRobin, (int)LoadBalancerPolicy.RoundRobin)]
    [InlineData(EnvoyCluster.Types.LbPolicy.LeastRequest, (int)LoadBalancerPolicy.LeastRequest)]
    [InlineData(EnvoyCluster.Types.LbPolicy.Random, (int)LoadBalancerPolicy.Random)]
    [InlineData(EnvoyCluster.Types.LbPolicy.RingHash, (int)LoadBalancerPolicy.RingHash)]
    [InlineData(EnvoyCluster.Types.LbPolicy.Maglev, (int)LoadBalancerPolicy.Maglev)]
    public void Translate_LbPolicy_Maps(EnvoyCluster.Types.LbPolicy policy, int expected)
    {
        var cluster = Static("web");
        cluster.LbPolicy = policy;

        Assert.Equal((LoadBalancerPolicy)expected, ClusterTranslator.Translate(cluster, P).LbPolicy);
    }

    [Theory]
    [InlineData(EnvoyCluster.Types.LbPolicy.ClusterProvided)]
    [InlineData(EnvoyCluster.Types.LbPolicy.LoadBalancingPolicyConfig)]
    public void Translate_UnsupportedLbPolicy_ThrowsNamingLbPolicy(EnvoyCluster.Types.LbPolicy policy)
    {
        var cluster = Static("web");
        cluster.LbPolicy = policy;

        Reject(cluster, P + ".lb_policy");
    }

    [Fact]
    public void Translate_RingHashConfig_IsRead()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new() { MinimumRingSize = 64, MaximumRingSize = 4096 };

        var config = ClusterTranslator.Translate(cluster, P);

        Assert.Equal(64UL, config.RingHashMinimumSize);
        Assert.Equal(4096UL, config.RingHashMaximumSize);
    }

    [Fact]
    public void Translate_RingHashMurmur_ThrowsNamingHashFunction()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new() { HashFunction = EnvoyCluster.Types.RingHashLbConfig.Types.HashFunction.MurmurHash2 };

        Reject(cluster, P + ".ring_hash_lb_config.hash_function");
    }

    [Fact]
    public void Translate_RingHashMaximumBelowMinimum_Throws()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.RingHash;
        cluster.RingHashLbConfig = new() { MinimumRingSize = 4096, MaximumRingSize = 1024 };

        Reject(cluster, P + ".ring_hash_lb_config.maximum_ring_size");
    }

    [Fact]
    public void Translate_LbConfigForOtherPolicy_Throws()
    {
        var cluster = Static("web");
        cluster.RingHashLbConfig = new() { MinimumRingSize = 64 };

        Reject(cluster, P + ".ring_hash_lb_config");
    }

    [Fact]
    public void Translate_MaglevTableSize_IsRead()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.Maglev;
        cluster.MaglevLbConfig = new() { TableSize = 5000011 };

        Assert.Equal(5000011, ClusterTranslator.Translate(cluster, P).MaglevTableSize);
    }

    [Theory]
    [InlineData(65536UL)]
    [InlineData(1UL)]
    [InlineData(5000101UL)]
    public void Translate_MaglevTableSizeNotPrimeOrTooLarge_Throws(ulong size)
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.Maglev;
        cluster.MaglevLbConfig = new() { TableSize = size };

        Reject(cluster, P + ".maglev_lb_config.table_size");
    }

    [Fact]
    public void Translate_LeastRequestChoiceCount_IsRead()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.LeastRequest;
        cluster.LeastRequestLbConfig = new() { ChoiceCount = 3 };

        Assert.Equal(3, ClusterTranslator.Translate(cluster, P).LeastRequestChoiceCount);
    }

    [Fact]
    public void Translate_LeastRequestChoiceCountOne_Throws()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.LeastRequest;
        cluster.LeastRequestLbConfig = new() { ChoiceCount = 1 };

        Reject(cluster, P + ".least_request_lb_config.choice_count");
    }

    [Fact]
    public void Translate_LeastRequestActiveRequestBias_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.LbPolicy = EnvoyCluster.Types.LbPolicy.LeastRequest;
        cluster.LeastRequestLbConfig = new() { ActiveRequestBias = new RuntimeDouble { DefaultValue = 1 } };

        Reject(cluster, P + ".least_request_lb_config.active_request_bias");
    }

    [Fact]
    public void Translate_LoadAssignment_ReadsWeightHealthAndLocality()
    {
        var cluster = Static("web");
        cluster.LoadAssignment = new ClusterLoadAssignment
        {
            ClusterName = "web",
            Endpoints =
            {
                new LocalityLbEndpoints
                {
                    Locality = new Locality { Region = "eu", Zone = "a" },
                    LbEndpoints =
                    {
                        LbEndpoint("10.0.0.1", 80, weight: 3, HealthStatus.Healthy),
                        LbEndpoint("10.0.0.2", 81, weight: null, HealthStatus.Unhealthy),
                    },
                },
                new LocalityLbEndpoints { LbEndpoints = { LbEndpoint("::1", 82, weight: 2, HealthStatus.Degraded) } },
            },
        };

        var config = ClusterTranslator.Translate(cluster, P);

        Assert.Equal(
            [new EndpointConfig("10.0.0.1", 80, 3, 0, true), new EndpointConfig("10.0.0.2", 81, 1, 0, false), new EndpointConfig("::1", 82, 2, 0, true)],
            config.Endpoints.ToArray());
    }

    [Theory]
    [InlineData(HealthStatus.Unknown, true)]
    [InlineData(HealthStatus.Healthy, true)]
    [InlineData(HealthStatus.Degraded, true)]
    [InlineData(HealthStatus.Unhealthy, false)]
    [InlineData(HealthStatus.Draining, false)]
    [InlineData(HealthStatus.Timeout, false)]
    public void Translate_HealthStatus_SetsHealthy(HealthStatus status, bool healthy)
    {
        var cluster = Static("web");
        cluster.LoadAssignment = Assignment(LbEndpoint("10.0.0.1", 80, null, status));

        Assert.Equal(healthy, ClusterTranslator.Translate(cluster, P).Endpoints[0].Healthy);
    }

    [Fact]
    public void Translate_NonZeroPriority_ThrowsNamingPriority()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Endpoints[0].Priority = 1;

        Reject(cluster, P + ".load_assignment.endpoints[0].priority");
    }

    [Fact]
    public void Translate_LocalityWeight_IsAcceptedWithoutChangingEndpointWeights()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Endpoints[0].LoadBalancingWeight = 5;

        var endpoint = Assert.Single(ClusterTranslator.Translate(cluster, P).Endpoints);
        Assert.Equal(1u, endpoint.Weight);
    }

    [Fact]
    public void Translate_AssignmentPolicy_ThrowsNamingIt()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Policy = new ClusterLoadAssignment.Types.Policy { OverprovisioningFactor = 140 };

        Reject(cluster, P + ".load_assignment.policy");
    }

    [Fact]
    public void Translate_ZeroWeight_Throws()
    {
        var cluster = Static("web");
        cluster.LoadAssignment = Assignment(LbEndpoint("10.0.0.1", 80, 0, HealthStatus.Unknown));

        Reject(cluster, Lb0 + ".load_balancing_weight");
    }

    [Fact]
    public void Translate_EndpointMetadata_ThrowsNamingIt()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Metadata = new Metadata { FilterMetadata = { ["a"] = new Struct() } };

        Reject(cluster, Lb0 + ".metadata");
    }

    [Fact]
    public void Translate_EndpointHostname_ThrowsNamingIt()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Hostname = "web.local";

        Reject(cluster, Lb0 + ".endpoint.hostname");
    }

    [Fact]
    public void Translate_PipeAddress_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.LoadAssignment = Assignment(new LbEndpoint { Endpoint = new Endpoint { Address = new Address { Pipe = new Pipe { Path = "/tmp/s" } } } });

        Reject(cluster, Lb0 + ".endpoint.address.pipe");
    }

    [Fact]
    public void Translate_ResolverName_ThrowsNamingIt()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.ResolverName = "custom";

        Reject(cluster, Lb0 + ".endpoint.address.socket_address.resolver_name");
    }

    [Fact]
    public void Translate_UdpProtocol_ThrowsNamingIt()
    {
        var cluster = Static("web", ("10.0.0.1", 80));
        cluster.LoadAssignment.Endpoints[0].LbEndpoints[0].Endpoint.Address.SocketAddress.Protocol = SocketAddress.Types.Protocol.Udp;

        Reject(cluster, Lb0 + ".endpoint.address.socket_address.protocol");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(65536u)]
    public void Translate_PortOutOfRange_Throws(uint port)
    {
        var cluster = Static("web", ("10.0.0.1", (int)port));

        Reject(cluster, Lb0 + ".endpoint.address.socket_address.port_value");
    }

    [Fact]
    public void Translate_StaticWithHostName_Throws()
    {
        Reject(Static("web", ("backend.local", 80)), Lb0 + ".endpoint.address.socket_address.address");
    }

    [Fact]
    public void Translate_StrictDnsWithHostNames_KeepsNames()
    {
        var cluster = Static("web", ("backend.local", 80), ("10.0.0.9", 81));
        cluster.Type = EnvoyCluster.Types.DiscoveryType.StrictDns;

        var config = ClusterTranslator.Translate(cluster, P);

        Assert.Equal("backend.local", config.Endpoints[0].Host);
        Assert.Equal("10.0.0.9", config.Endpoints[1].Host);
    }

    [Fact]
    public void Translate_LogicalDnsWithTwoEndpoints_Throws()
    {
        var cluster = Static("web", ("a.local", 80), ("b.local", 80));
        cluster.Type = EnvoyCluster.Types.DiscoveryType.LogicalDns;

        Reject(cluster, P + ".load_assignment");
    }

    [Fact]
    public void Translate_DnsRefreshRateAndLookupFamily_AreRead()
    {
        var cluster = Static("web", ("backend.local", 80));
        cluster.Type = EnvoyCluster.Types.DiscoveryType.StrictDns;
        cluster.DnsRefreshRate = Duration.FromTimeSpan(TimeSpan.FromSeconds(30));
        cluster.DnsLookupFamily = EnvoyCluster.Types.DnsLookupFamily.V4Only;

        var config = ClusterTranslator.Translate(cluster, P);

        Assert.Equal(TimeSpan.FromSeconds(30), config.DnsRefreshRate);
        Assert.Equal(DnsLookupFamily.V4Only, config.DnsLookupFamily);
    }

    [Theory]
    [InlineData(EnvoyCluster.Types.DnsLookupFamily.Auto, (int)DnsLookupFamily.Auto)]
    [InlineData(EnvoyCluster.Types.DnsLookupFamily.V6Only, (int)DnsLookupFamily.V6Only)]
    [InlineData(EnvoyCluster.Types.DnsLookupFamily.V4Preferred, (int)DnsLookupFamily.V4Preferred)]
    [InlineData(EnvoyCluster.Types.DnsLookupFamily.All, (int)DnsLookupFamily.All)]
    public void Translate_DnsLookupFamily_Maps(EnvoyCluster.Types.DnsLookupFamily family, int expected)
    {
        var cluster = Static("web", ("backend.local", 80));
        cluster.Type = EnvoyCluster.Types.DiscoveryType.StrictDns;
        cluster.DnsLookupFamily = family;

        Assert.Equal((DnsLookupFamily)expected, ClusterTranslator.Translate(cluster, P).DnsLookupFamily);
    }

    [Fact]
    public void Translate_DnsRefreshRateOnStatic_Throws()
    {
        var cluster = Static("web");
        cluster.DnsRefreshRate = Duration.FromTimeSpan(TimeSpan.FromSeconds(30));

        Reject(cluster, P + ".dns_refresh_rate");
    }

    [Fact]
    public void Translate_RespectDnsTtl_ThrowsNamingIt()
    {
        var cluster = Static("web", ("backend.local", 80));
        cluster.Type = EnvoyCluster.Types.DiscoveryType.StrictDns;
        cluster.RespectDnsTtl = true;

        Reject(cluster, P + ".respect_dns_ttl");
    }

    [Fact]
    public void Translate_ExplicitHttp2_IsHttp2()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions[ClusterTranslator.HttpProtocolOptionsKey] = Any.Pack(new HttpProtocolOptions
        {
            ExplicitHttpConfig = new() { Http2ProtocolOptions = new Http2ProtocolOptions() },
        });

        Assert.Equal(UpstreamProtocol.Http2, ClusterTranslator.Translate(cluster, P).Protocol);
    }

    [Fact]
    public void Translate_ExplicitHttp1_IsHttp1()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions[ClusterTranslator.HttpProtocolOptionsKey] = Any.Pack(new HttpProtocolOptions
        {
            ExplicitHttpConfig = new() { HttpProtocolOptions = new Http1ProtocolOptions() },
        });

        Assert.Equal(UpstreamProtocol.Http1, ClusterTranslator.Translate(cluster, P).Protocol);
    }

    [Fact]
    public void Translate_DeprecatedHttp2ProtocolOptions_IsHttp2()
    {
        var cluster = Static("web");
#pragma warning disable CS0612
        cluster.Http2ProtocolOptions = new Http2ProtocolOptions();
#pragma warning restore CS0612

        Assert.Equal(UpstreamProtocol.Http2, ClusterTranslator.Translate(cluster, P).Protocol);
    }

    [Fact]
    public void Translate_Http3_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions[ClusterTranslator.HttpProtocolOptionsKey] = Any.Pack(new HttpProtocolOptions
        {
            ExplicitHttpConfig = new() { Http3ProtocolOptions = new Http3ProtocolOptions() },
        });

        Reject(cluster, P + ".typed_extension_protocol_options[\"" + ClusterTranslator.HttpProtocolOptionsKey + "\"].explicit_http_config.http3_protocol_options");
    }

    [Fact]
    public void Translate_AutoConfig_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions[ClusterTranslator.HttpProtocolOptionsKey] = Any.Pack(new HttpProtocolOptions
        {
            AutoConfig = new(),
        });

        Reject(cluster, P + ".typed_extension_protocol_options[\"" + ClusterTranslator.HttpProtocolOptionsKey + "\"].auto_config");
    }

    [Fact]
    public void Translate_Http2Option_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions[ClusterTranslator.HttpProtocolOptionsKey] = Any.Pack(new HttpProtocolOptions
        {
            ExplicitHttpConfig = new() { Http2ProtocolOptions = new Http2ProtocolOptions { MaxConcurrentStreams = 10 } },
        });

        Reject(cluster, P + ".typed_extension_protocol_options[\"" + ClusterTranslator.HttpProtocolOptionsKey + "\"].explicit_http_config.http2_protocol_options.max_concurrent_streams");
    }

    [Fact]
    public void Translate_OtherProtocolOptionsKey_ThrowsNamingKey()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions["envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions"] = Any.Pack(new Empty());

        Reject(cluster, P + ".typed_extension_protocol_options[\"envoy.extensions.upstreams.tcp.v3.TcpProtocolOptions\"]");
    }

    [Fact]
    public void Translate_WrongAnyType_Throws()
    {
        var cluster = Static("web");
        cluster.TypedExtensionProtocolOptions[ClusterTranslator.HttpProtocolOptionsKey] = Any.Pack(new Empty());

        Reject(cluster, P + ".typed_extension_protocol_options[\"" + ClusterTranslator.HttpProtocolOptionsKey + "\"]");
    }

    [Fact]
    public void Translate_CircuitBreakersHighPriority_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.CircuitBreakers = new Envoy.Config.Cluster.V3.CircuitBreakers();
        cluster.CircuitBreakers.Thresholds.Add(new Envoy.Config.Cluster.V3.CircuitBreakers.Types.Thresholds { Priority = RoutingPriority.High });

        Reject(cluster, P + ".circuit_breakers.thresholds[0].priority");
    }

    [Fact]
    public void Translate_CircuitBreakers_CarriedIntoConfig()
    {
        var cluster = Static("web");
        cluster.CircuitBreakers = new Envoy.Config.Cluster.V3.CircuitBreakers();
        cluster.CircuitBreakers.Thresholds.Add(new Envoy.Config.Cluster.V3.CircuitBreakers.Types.Thresholds { MaxRequests = 7 });

        Assert.Equal(7, ClusterTranslator.Translate(cluster, P).CircuitBreakers.MaxRequests);
        Assert.Same(CircuitBreakerThresholds.Default, ClusterTranslator.Translate(Static("web"), P).CircuitBreakers);
    }

    [Fact]
    public void Translate_OtherClusterField_ThrowsNamingIt()
    {
        var cluster = Static("web");
        cluster.PerConnectionBufferLimitBytes = 1024;

        Reject(cluster, P + ".per_connection_buffer_limit_bytes");
    }

    [Fact]
    public void Translate_EmptyName_Throws()
    {
        Reject(Static(string.Empty), P + ".name");
    }

    private static ConfigException Reject(EnvoyCluster cluster, string fieldPath)
    {
        var error = Assert.Throws<ConfigException>(() => ClusterTranslator.Translate(cluster, P));
        Assert.Equal(fieldPath, error.FieldPath);
        return error;
    }

    private static EnvoyCluster Static(string name, params (string Host, int Port)[] endpoints)
    {
        var cluster = new EnvoyCluster { Name = name, Type = EnvoyCluster.Types.DiscoveryType.Static };
        if (endpoints.Length > 0)
        {
            var lbEndpoints = new LbEndpoint[endpoints.Length];
            for (var i = 0; i < endpoints.Length; i++)
            {
                lbEndpoints[i] = LbEndpoint(endpoints[i].Host, endpoints[i].Port, null, HealthStatus.Unknown);
            }

            cluster.LoadAssignment = Assignment(lbEndpoints);
        }

        return cluster;
    }

    private static EnvoyCluster OriginalDst(string name) => new()
    {
        Name = name,
        Type = EnvoyCluster.Types.DiscoveryType.OriginalDst,
        LbPolicy = EnvoyCluster.Types.LbPolicy.ClusterProvided,
    };

    private static ClusterLoadAssignment Assignment(params LbEndpoint[] endpoints) => new()
    {
        ClusterName = "web",
        Endpoints = { new LocalityLbEndpoints { LbEndpoints = { endpoints } } },
    };

    private static LbEndpoint LbEndpoint(string host, int port, uint? weight, HealthStatus status) => new()
    {
        Endpoint = new Endpoint
        {
            Address = new Address { SocketAddress = new SocketAddress { Address = host, PortValue = (uint)port } },
        },
        LoadBalancingWeight = weight,
        HealthStatus = status,
    };
}
