using System.Collections.Immutable;
using System.Net;
using Envoy.Config.Endpoint.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Activation;
using Herald.Proxy.Config;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;

namespace Herald.Proxy.Upstream;

/// <summary>Envoy v3 <c>Cluster</c> to a validated <see cref="ClusterConfig"/>.</summary>
internal static class ClusterTranslator
{
    public const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    private const ulong MaxRingSize = 8 * 1024 * 1024;
    private const ulong MaxMaglevTableSize = 5000011;

    public static ClusterConfig Translate(EnvoyCluster cluster, string path) => Translate(cluster, path, null);

    /// <summary>
    /// Translates a cluster; an EDS cluster takes its endpoints from <paramref name="assignments"/>
    /// (by <c>eds_cluster_config.service_name</c>, else the cluster name), empty when absent.
    /// </summary>
    public static ClusterConfig Translate(EnvoyCluster cluster, string path, Func<string, ClusterLoadAssignment?>? assignments)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        RejectNotYetSupported(cluster, path);
        FieldPolicy.RequireOnly(
            cluster,
            path,
            "name",
            "type",
            "connect_timeout",
            "lb_policy",
            "load_assignment",
            "http2_protocol_options",
            "typed_extension_protocol_options",
            "dns_refresh_rate",
            "dns_lookup_family",
            "ring_hash_lb_config",
            "maglev_lb_config",
            "least_request_lb_config",
            "eds_cluster_config",
            "upstream_bind_config",
            "cleanup_interval",
            "metadata",
            "circuit_breakers",
            "outlier_detection",
            "health_checks",
            "transport_socket");

        if (string.IsNullOrEmpty(cluster.Name))
        {
            throw new ConfigException(FieldPolicy.Join(path, "name"), "a cluster needs a name", "Set name to a unique, non-empty string");
        }

        var type = TranslateType(cluster, path);
        var lbPolicy = TranslateLbPolicy(cluster, path);
        var isDns = type is DiscoveryType.StrictDns or DiscoveryType.LogicalDns;
        var endpoints = cluster.LoadAssignment is null
            ? []
            : TranslateLoadAssignment(cluster.LoadAssignment, FieldPolicy.Join(path, "load_assignment"), requireIpLiterals: !isDns);
        string? edsServiceName = null;
        if (type == DiscoveryType.Eds)
        {
            edsServiceName = TranslateEdsConfig(cluster, path, assignments is not null);
            var assignment = assignments?.Invoke(edsServiceName);
            endpoints = assignment is null
                ? []
                : TranslateLoadAssignment(assignment, $"ClusterLoadAssignment '{edsServiceName}'", requireIpLiterals: true);
        }
        else if (cluster.EdsClusterConfig is not null)
        {
            throw new ConfigException(FieldPolicy.Join(path, "eds_cluster_config"), "eds_cluster_config is only valid for EDS clusters", "Remove it or set type: EDS");
        }

        if (type == DiscoveryType.OriginalDst)
        {
            ValidateOriginalDestination(cluster, path, lbPolicy);
            Health.HealthDefaults.RefuseForOriginalDestination(cluster, path);
        }
        else if (lbPolicy == LoadBalancerPolicy.ClusterProvided)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "lb_policy"),
                "CLUSTER_PROVIDED is only valid for ORIGINAL_DST clusters",
                "Use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV");
        }
        else if (cluster.CleanupInterval is not null)
        {
            throw new ConfigException(FieldPolicy.Join(path, "cleanup_interval"), "cleanup_interval applies only to ORIGINAL_DST clusters", "Remove cleanup_interval");
        }

        if (type == DiscoveryType.LogicalDns && endpoints.Length != 1)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "load_assignment"),
                $"a LOGICAL_DNS cluster needs exactly one endpoint, found {endpoints.Length}",
                "Give load_assignment a single lb_endpoint, or use STRICT_DNS for several");
        }

        if (!isDns && cluster.DnsRefreshRate is not null)
        {
            throw OnlyForDns(path, "dns_refresh_rate");
        }

        if (!isDns && cluster.DnsLookupFamily != EnvoyCluster.Types.DnsLookupFamily.Auto)
        {
            throw OnlyForDns(path, "dns_lookup_family");
        }

        var config = new ClusterConfig
        {
            Name = cluster.Name,
            Type = type,
            LbPolicy = lbPolicy,
            ConnectTimeout = cluster.ConnectTimeout is null
                ? ClusterConfig.DefaultConnectTimeout
                : PositiveDuration(cluster.ConnectTimeout, FieldPolicy.Join(path, "connect_timeout"), TimeSpan.Zero),
            Protocol = TranslateProtocol(cluster, path),
            Endpoints = endpoints,
            DnsRefreshRate = cluster.DnsRefreshRate is null
                ? ClusterConfig.DefaultDnsRefreshRate
                : PositiveDuration(cluster.DnsRefreshRate, FieldPolicy.Join(path, "dns_refresh_rate"), TimeSpan.FromMilliseconds(1)),
            DnsLookupFamily = TranslateLookupFamily(cluster, path),
            EdsServiceName = edsServiceName,
            SourceAddress = TranslateBindConfig(cluster, path),
            Tls = Tls.TlsContextTranslator.TranslateUpstream(cluster.TransportSocket, path, TimeProvider.System),
            Activation = ActivationPolicyTranslator.Translate(cluster.Metadata, FieldPolicy.Join(path, "metadata")),
            CircuitBreakers = CircuitBreakersTranslator.Translate(cluster.CircuitBreakers, FieldPolicy.Join(path, "circuit_breakers")),
            CleanupInterval = cluster.CleanupInterval is null
                ? ClusterConfig.DefaultCleanupInterval
                : PositiveDuration(cluster.CleanupInterval, FieldPolicy.Join(path, "cleanup_interval"), TimeSpan.Zero),
            OutlierDetection = Health.OutlierDetectionTranslator.Translate(cluster.OutlierDetection, FieldPolicy.Join(path, "outlier_detection")),
            HealthCheck = Health.HealthCheckTranslator.Translate(cluster.HealthChecks, path),
            Source = cluster,
        };

        return TranslateLbConfig(cluster, path, config);
    }

    /// <summary>
    /// The endpoints of a <c>ClusterLoadAssignment</c> (also for EDS). Only priority 0 is
    /// supported; locality is accepted and not used.
    /// </summary>
    public static ImmutableArray<EndpointConfig> TranslateLoadAssignment(ClusterLoadAssignment assignment, string path, bool requireIpLiterals)
    {
        ArgumentNullException.ThrowIfNull(assignment);
        FieldPolicy.RequireOnly(assignment, path, "cluster_name", "endpoints");
        var result = ImmutableArray.CreateBuilder<EndpointConfig>();
        for (var i = 0; i < assignment.Endpoints.Count; i++)
        {
            var localityPath = FieldPolicy.Index(path, "endpoints", i);
            var locality = assignment.Endpoints[i];
            // A locality's load_balancing_weight only matters under locality-weighted load
            // balancing (common_lb_config), which Herald refuses; Envoy ignores it otherwise,
            // and gRPC clients need it set, so control planes send it.
            FieldPolicy.RequireOnly(locality, localityPath, "locality", "lb_endpoints", "priority", "load_balancing_weight");
            if (locality.Priority != 0)
            {
                throw new ConfigException(
                    FieldPolicy.Join(localityPath, "priority"),
                    $"priority {locality.Priority} is not supported yet; Herald supports priority 0 only",
                    "Remove priority, or set it to 0");
            }

            for (var j = 0; j < locality.LbEndpoints.Count; j++)
            {
                result.Add(TranslateLbEndpoint(locality.LbEndpoints[j], FieldPolicy.Index(localityPath, "lb_endpoints", j), locality.Priority, requireIpLiterals));
            }
        }

        return result.ToImmutable();
    }

    private static string TranslateEdsConfig(EnvoyCluster cluster, string path, bool dynamic)
    {
        var edsPath = FieldPolicy.Join(path, "eds_cluster_config");
        if (!dynamic)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "type"),
                "an EDS cluster needs a control plane (dynamic_resources with ads_config)",
                "Use STATIC or STRICT_DNS in a static bootstrap, or configure ADS");
        }

        var eds = cluster.EdsClusterConfig;
        if (eds is null)
        {
            return cluster.Name;
        }

        FieldPolicy.RequireOnly(eds, edsPath, "eds_config", "service_name");
        if (eds.EdsConfig is { } source)
        {
            var sourcePath = FieldPolicy.Join(edsPath, "eds_config");
            FieldPolicy.RequireOnly(source, sourcePath, "ads", "resource_api_version", "initial_fetch_timeout");
            if (source.Ads is null)
            {
                throw new ConfigException(sourcePath, "Herald fetches endpoints over ADS only", "Set eds_config: { ads: {} }");
            }
        }

        return string.IsNullOrEmpty(eds.ServiceName) ? cluster.Name : eds.ServiceName;
    }

    private static void RejectNotYetSupported(EnvoyCluster cluster, string path)
    {
        if (cluster.RespectDnsTtl)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "respect_dns_ttl"),
                "respect_dns_ttl is not supported: Herald re-resolves every dns_refresh_rate",
                "Remove respect_dns_ttl and set dns_refresh_rate to the interval you want");
        }
    }

    private static DiscoveryType TranslateType(EnvoyCluster cluster, string path) => cluster.Type switch
    {
        EnvoyCluster.Types.DiscoveryType.Static => DiscoveryType.Static,
        EnvoyCluster.Types.DiscoveryType.StrictDns => DiscoveryType.StrictDns,
        EnvoyCluster.Types.DiscoveryType.LogicalDns => DiscoveryType.LogicalDns,
        EnvoyCluster.Types.DiscoveryType.Eds => DiscoveryType.Eds,
        EnvoyCluster.Types.DiscoveryType.OriginalDst => DiscoveryType.OriginalDst,
        _ => throw new ConfigException(
            FieldPolicy.Join(path, "type"), $"unknown cluster type {(int)cluster.Type}", "Use STATIC, STRICT_DNS, LOGICAL_DNS, EDS or ORIGINAL_DST"),
    };

    private static LoadBalancerPolicy TranslateLbPolicy(EnvoyCluster cluster, string path) => cluster.LbPolicy switch
    {
        EnvoyCluster.Types.LbPolicy.RoundRobin => LoadBalancerPolicy.RoundRobin,
        EnvoyCluster.Types.LbPolicy.LeastRequest => LoadBalancerPolicy.LeastRequest,
        EnvoyCluster.Types.LbPolicy.Random => LoadBalancerPolicy.Random,
        EnvoyCluster.Types.LbPolicy.RingHash => LoadBalancerPolicy.RingHash,
        EnvoyCluster.Types.LbPolicy.Maglev => LoadBalancerPolicy.Maglev,
        EnvoyCluster.Types.LbPolicy.ClusterProvided => LoadBalancerPolicy.ClusterProvided,
        _ => throw new ConfigException(
            FieldPolicy.Join(path, "lb_policy"),
            $"lb_policy {Name(cluster.LbPolicy)} is not supported",
            "Use ROUND_ROBIN, LEAST_REQUEST, RANDOM, RING_HASH or MAGLEV"),
    };

    // ORIGINAL_DST: the host is where each downstream connection was going, so the cluster
    // has no endpoints of its own and picks none itself (Envoy requires CLUSTER_PROVIDED).
    private static void ValidateOriginalDestination(EnvoyCluster cluster, string path, LoadBalancerPolicy lbPolicy)
    {
        if (lbPolicy != LoadBalancerPolicy.ClusterProvided)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "lb_policy"),
                $"an ORIGINAL_DST cluster needs lb_policy CLUSTER_PROVIDED, found {Name(cluster.LbPolicy)}",
                "Set lb_policy: CLUSTER_PROVIDED");
        }

        if (cluster.LoadAssignment is not null)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "load_assignment"),
                "an ORIGINAL_DST cluster takes its host from each connection's original destination",
                "Remove load_assignment");
        }

        foreach (var field in new[] { "ring_hash_lb_config", "maglev_lb_config", "least_request_lb_config" })
        {
            if (EnvoyCluster.Descriptor.FindFieldByName(field).Accessor.HasValue(cluster))
            {
                throw new ConfigException(FieldPolicy.Join(path, field), $"{field} does not apply to ORIGINAL_DST clusters", $"Remove {field}");
            }
        }
    }

    private static IPEndPoint? TranslateBindConfig(EnvoyCluster cluster, string path)
    {
        if (cluster.UpstreamBindConfig is not { } bind)
        {
            return null;
        }

        var bindPath = FieldPolicy.Join(path, "upstream_bind_config");
        FieldPolicy.RequireOnly(bind, bindPath, "source_address");
        var sourcePath = FieldPolicy.Join(bindPath, "source_address");
        if (bind.SourceAddress is not { } source)
        {
            throw new ConfigException(sourcePath, "upstream_bind_config needs a source_address", "Set source_address.address, for example 127.0.0.6");
        }

        FieldPolicy.RequireOnly(source, sourcePath, "address", "port_value");
        if (!IPAddress.TryParse(source.Address, out var ip))
        {
            throw new ConfigException(FieldPolicy.Join(sourcePath, "address"), $"'{source.Address}' is not an IP address", "Use an IP literal such as 127.0.0.6");
        }

        if (source.PortValue > 65535)
        {
            throw new ConfigException(FieldPolicy.Join(sourcePath, "port_value"), $"port {source.PortValue} is out of range", "Use 0 (any port) or a port up to 65535");
        }

        return new IPEndPoint(ip, (int)source.PortValue);
    }

    private static ClusterConfig TranslateLbConfig(EnvoyCluster cluster, string path, ClusterConfig config)
    {
        if (cluster.RingHashLbConfig is { } ringHash)
        {
            var ringPath = FieldPolicy.Join(path, "ring_hash_lb_config");
            RequirePolicy(config, LoadBalancerPolicy.RingHash, ringPath);
            FieldPolicy.RequireOnly(ringHash, ringPath, "minimum_ring_size", "hash_function", "maximum_ring_size");
            if (ringHash.HashFunction != EnvoyCluster.Types.RingHashLbConfig.Types.HashFunction.XxHash)
            {
                throw new ConfigException(
                    FieldPolicy.Join(ringPath, "hash_function"),
                    $"hash_function {Name(ringHash.HashFunction)} is not supported",
                    "Remove hash_function (XX_HASH is the default and the only one Herald has)");
            }

            var minimum = ringHash.MinimumRingSize ?? ClusterConfig.DefaultRingHashMinimumSize;
            var maximum = ringHash.MaximumRingSize ?? ClusterConfig.DefaultRingHashMaximumSize;
            if (minimum is 0 or > MaxRingSize)
            {
                throw new ConfigException(
                    FieldPolicy.Join(ringPath, "minimum_ring_size"), $"{minimum} is out of range", $"Use a value from 1 to {MaxRingSize}");
            }

            if (maximum is 0 or > MaxRingSize || maximum < minimum)
            {
                throw new ConfigException(
                    FieldPolicy.Join(ringPath, "maximum_ring_size"),
                    $"{maximum} is out of range",
                    $"Use a value from minimum_ring_size ({minimum}) to {MaxRingSize}");
            }

            config = Copy(config, ringMinimum: minimum, ringMaximum: maximum);
        }

        if (cluster.MaglevLbConfig is { } maglev)
        {
            var maglevPath = FieldPolicy.Join(path, "maglev_lb_config");
            RequirePolicy(config, LoadBalancerPolicy.Maglev, maglevPath);
            FieldPolicy.RequireOnly(maglev, maglevPath, "table_size");
            var size = maglev.TableSize ?? (ulong)ClusterConfig.DefaultMaglevTableSize;
            if (size > MaxMaglevTableSize || !IsPrime(size))
            {
                throw new ConfigException(
                    FieldPolicy.Join(maglevPath, "table_size"),
                    $"{size} is not a prime number up to {MaxMaglevTableSize}",
                    "Use a prime such as 65537 (the default) or 5000011");
            }

            config = Copy(config, maglevSize: (int)size);
        }

        if (cluster.LeastRequestLbConfig is { } leastRequest)
        {
            var leastPath = FieldPolicy.Join(path, "least_request_lb_config");
            RequirePolicy(config, LoadBalancerPolicy.LeastRequest, leastPath);
            FieldPolicy.RequireOnly(leastRequest, leastPath, "choice_count");
            var choices = leastRequest.ChoiceCount ?? (uint)ClusterConfig.DefaultLeastRequestChoiceCount;
            if (choices is < 2 or > 1000)
            {
                throw new ConfigException(
                    FieldPolicy.Join(leastPath, "choice_count"), $"{choices} is out of range", "Use a value from 2 to 1000");
            }

            config = Copy(config, choiceCount: (int)choices);
        }

        return config;
    }

    private static UpstreamProtocol TranslateProtocol(EnvoyCluster cluster, string path)
    {
        UpstreamProtocol? protocol = null;
        foreach (var (key, any) in cluster.TypedExtensionProtocolOptions)
        {
            var keyPath = $"{FieldPolicy.Join(path, "typed_extension_protocol_options")}[\"{key}\"]";
            if (!string.Equals(key, HttpProtocolOptionsKey, StringComparison.Ordinal))
            {
                throw new ConfigException(
                    keyPath,
                    $"protocol options '{key}' are not supported",
                    $"Remove them; Herald supports only {HttpProtocolOptionsKey}");
            }

            protocol = TranslateHttpProtocolOptions(any, keyPath);
        }

        // The deprecated field still appears in many configurations; it means HTTP/2.
#pragma warning disable CS0612
        var deprecatedHttp2 = cluster.Http2ProtocolOptions;
#pragma warning restore CS0612
        if (deprecatedHttp2 is { } http2)
        {
            var http2Path = FieldPolicy.Join(path, "http2_protocol_options");
            if (protocol is not null)
            {
                throw new ConfigException(
                    http2Path,
                    "http2_protocol_options and typed_extension_protocol_options are both set",
                    $"Keep only {HttpProtocolOptionsKey} in typed_extension_protocol_options");
            }

            FieldPolicy.RequireOnly(http2, http2Path);
            protocol = UpstreamProtocol.Http2;
        }

        return protocol ?? UpstreamProtocol.Http1;
    }

    private static UpstreamProtocol TranslateHttpProtocolOptions(Any any, string path)
    {
        if (!any.TryUnpack<HttpProtocolOptions>(out var options))
        {
            throw new ConfigException(
                path,
                $"expected type {HttpProtocolOptions.Descriptor.FullName}, found '{any.TypeUrl}'",
                $"Set @type to type.googleapis.com/{HttpProtocolOptions.Descriptor.FullName}");
        }

        FieldPolicy.RequireOnly(options, path, "explicit_http_config", "use_downstream_protocol_config");
        var explicitPath = FieldPolicy.Join(path, "explicit_http_config");
        if (options.UseDownstreamProtocolConfig is { } downstream)
        {
            var downstreamPath = FieldPolicy.Join(path, "use_downstream_protocol_config");
            FieldPolicy.RequireOnly(downstream, downstreamPath, "http_protocol_options", "http2_protocol_options");
            if (downstream.HttpProtocolOptions is { } downstreamHttp1)
            {
                FieldPolicy.RequireOnly(downstreamHttp1, FieldPolicy.Join(downstreamPath, "http_protocol_options"));
            }

            if (downstream.Http2ProtocolOptions is { } downstreamHttp2)
            {
                FieldPolicy.RequireOnly(downstreamHttp2, FieldPolicy.Join(downstreamPath, "http2_protocol_options"));
            }

            return UpstreamProtocol.UseDownstream;
        }

        if (options.ExplicitHttpConfig is not { } explicitConfig)
        {
            throw new ConfigException(
                explicitPath,
                "explicit_http_config or use_downstream_protocol_config is required",
                "Set explicit_http_config with http_protocol_options (HTTP/1.1) or http2_protocol_options (HTTP/2)");
        }

        FieldPolicy.RequireOnly(explicitConfig, explicitPath, "http_protocol_options", "http2_protocol_options");
        if (explicitConfig.HttpProtocolOptions is { } http1)
        {
            FieldPolicy.RequireOnly(http1, FieldPolicy.Join(explicitPath, "http_protocol_options"));
            return UpstreamProtocol.Http1;
        }

        if (explicitConfig.Http2ProtocolOptions is { } http2)
        {
            FieldPolicy.RequireOnly(http2, FieldPolicy.Join(explicitPath, "http2_protocol_options"));
            return UpstreamProtocol.Http2;
        }

        throw new ConfigException(
            explicitPath,
            "explicit_http_config names no protocol",
            "Set http_protocol_options (HTTP/1.1) or http2_protocol_options (HTTP/2)");
    }

    private static DnsLookupFamily TranslateLookupFamily(EnvoyCluster cluster, string path) => cluster.DnsLookupFamily switch
    {
        EnvoyCluster.Types.DnsLookupFamily.Auto => DnsLookupFamily.Auto,
        EnvoyCluster.Types.DnsLookupFamily.V4Only => DnsLookupFamily.V4Only,
        EnvoyCluster.Types.DnsLookupFamily.V6Only => DnsLookupFamily.V6Only,
        EnvoyCluster.Types.DnsLookupFamily.V4Preferred => DnsLookupFamily.V4Preferred,
        EnvoyCluster.Types.DnsLookupFamily.All => DnsLookupFamily.All,
        _ => throw new ConfigException(
            FieldPolicy.Join(path, "dns_lookup_family"),
            $"unknown dns_lookup_family {(int)cluster.DnsLookupFamily}",
            "Use AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED or ALL"),
    };

    private static EndpointConfig TranslateLbEndpoint(LbEndpoint lbEndpoint, string path, uint priority, bool requireIpLiterals)
    {
        FieldPolicy.RequireOnly(lbEndpoint, path, "endpoint", "health_status", "load_balancing_weight");
        var endpointPath = FieldPolicy.Join(path, "endpoint");
        if (lbEndpoint.Endpoint is not { } endpoint)
        {
            throw new ConfigException(endpointPath, "an lb_endpoint needs an endpoint", "Set endpoint.address.socket_address");
        }

        FieldPolicy.RequireOnly(endpoint, endpointPath, "address");
        var addressPath = FieldPolicy.Join(endpointPath, "address");
        if (endpoint.Address is not { } address)
        {
            throw new ConfigException(addressPath, "an endpoint needs an address", "Set address.socket_address");
        }

        FieldPolicy.RequireOnly(address, addressPath, "socket_address");
        var socketPath = FieldPolicy.Join(addressPath, "socket_address");
        if (address.SocketAddress is not { } socket)
        {
            throw new ConfigException(socketPath, "an endpoint needs a socket_address", "Set socket_address with address and port_value");
        }

        FieldPolicy.RequireOnly(socket, socketPath, "address", "port_value");
        if (string.IsNullOrEmpty(socket.Address))
        {
            throw new ConfigException(FieldPolicy.Join(socketPath, "address"), "the address is empty", "Set an IP address or a DNS name");
        }

        if (requireIpLiterals && !IPAddress.TryParse(socket.Address, out _))
        {
            throw new ConfigException(
                FieldPolicy.Join(socketPath, "address"),
                $"'{socket.Address}' is not an IP address, which this cluster type requires",
                "Use an IP address, or make the cluster STRICT_DNS or LOGICAL_DNS to resolve names");
        }

        if (!requireIpLiterals && Uri.CheckHostName(socket.Address) == UriHostNameType.Unknown)
        {
            throw new ConfigException(
                FieldPolicy.Join(socketPath, "address"), $"'{socket.Address}' is not a valid host name", "Use a DNS name or an IP address");
        }

        if (socket.PortValue is 0 or > 65535)
        {
            throw new ConfigException(
                FieldPolicy.Join(socketPath, "port_value"), $"port {socket.PortValue} is out of range", "Use a port from 1 to 65535");
        }

        var weight = lbEndpoint.LoadBalancingWeight ?? 1;
        if (weight == 0)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "load_balancing_weight"), "weight 0 is not allowed", "Use a weight of at least 1, or remove the endpoint");
        }

        var healthy = lbEndpoint.HealthStatus is not (Envoy.Config.Core.V3.HealthStatus.Unhealthy
            or Envoy.Config.Core.V3.HealthStatus.Draining
            or Envoy.Config.Core.V3.HealthStatus.Timeout);
        return new EndpointConfig(socket.Address, (int)socket.PortValue, weight, priority, healthy);
    }

    private static TimeSpan PositiveDuration(Duration duration, string path, TimeSpan minimumExclusive)
    {
        TimeSpan value;
        try
        {
            value = duration.ToTimeSpan();
        }
        catch (InvalidOperationException)
        {
            throw new ConfigException(path, "the duration is not valid", "Use a duration such as 5s");
        }

        if (value <= minimumExclusive)
        {
            throw new ConfigException(path, $"the duration must be greater than {minimumExclusive.TotalMilliseconds} ms", "Use a duration such as 5s");
        }

        return value;
    }

    private static void RequirePolicy(ClusterConfig config, LoadBalancerPolicy policy, string path)
    {
        if (config.LbPolicy != policy)
        {
            throw new ConfigException(
                path,
                $"this configures {policy} but lb_policy is {config.LbPolicy}",
                "Remove it, or set lb_policy to match");
        }
    }

    private static ConfigException NotYet(string path, string field) => new(
        FieldPolicy.Join(path, field), $"{field} is not supported yet", $"Remove {field}");

    private static ConfigException OnlyForDns(string path, string field) => new(
        FieldPolicy.Join(path, field), $"{field} applies only to STRICT_DNS and LOGICAL_DNS clusters", $"Remove {field}");

    private static ClusterConfig Copy(
        ClusterConfig config, ulong? ringMinimum = null, ulong? ringMaximum = null, int? maglevSize = null, int? choiceCount = null) => new()
    {
        Name = config.Name,
        Type = config.Type,
        LbPolicy = config.LbPolicy,
        ConnectTimeout = config.ConnectTimeout,
        Protocol = config.Protocol,
        Endpoints = config.Endpoints,
        DnsRefreshRate = config.DnsRefreshRate,
        DnsLookupFamily = config.DnsLookupFamily,
        RingHashMinimumSize = ringMinimum ?? config.RingHashMinimumSize,
        RingHashMaximumSize = ringMaximum ?? config.RingHashMaximumSize,
        MaglevTableSize = maglevSize ?? config.MaglevTableSize,
        LeastRequestChoiceCount = choiceCount ?? config.LeastRequestChoiceCount,
        EdsServiceName = config.EdsServiceName,
        SourceAddress = config.SourceAddress,
        Tls = config.Tls,
        Activation = config.Activation,
        CircuitBreakers = config.CircuitBreakers,
        CleanupInterval = config.CleanupInterval,
        OutlierDetection = config.OutlierDetection,
        HealthCheck = config.HealthCheck,
        Source = config.Source,
    };

    private static bool IsPrime(ulong n)
    {
        if (n < 2)
        {
            return false;
        }

        for (ulong d = 2; d * d <= n; d++)
        {
            if (n % d == 0)
            {
                return false;
            }
        }

        return true;
    }

    private static string Name(System.Enum value) =>
        value.GetType().GetField(value.ToString())?.GetCustomAttributes(typeof(Google.Protobuf.Reflection.OriginalNameAttribute), false)
            is [Google.Protobuf.Reflection.OriginalNameAttribute attribute, ..]
            ? attribute.Name
            : value.ToString();
}
