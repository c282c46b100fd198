using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.Filters.Http.Router.V3;
using Envoy.Extensions.Filters.Listener.OriginalDst.V3;
using Envoy.Extensions.Filters.Listener.TlsInspector.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Envoy.Extensions.Filters.Network.TcpProxy.V3;
using Envoy.Extensions.Upstreams.Http.V3;
using Envoy.Type.Matcher.V3;
using Google.Protobuf.WellKnownTypes;
using Duration = Google.Protobuf.WellKnownTypes.Duration;
using EnvoyListener = Envoy.Config.Listener.V3.Listener;
using Filter = Envoy.Config.Listener.V3.Filter;
using HttpProtocolOptions = Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions;
using IPAddress = System.Net.IPAddress;
using RetryPolicy = Envoy.Config.Route.V3.RetryPolicy;

namespace Herald.Xds.ControlPlane;

/// <summary>
/// Turns the mesh file and the registry into one node's Envoy resources. Names:
/// clusters <c>outbound|PORT|SUBSET|SERVICE</c> (SUBSET empty for all instances) and
/// <c>inbound|PORT||SERVICE</c>; route configurations <c>outbound|PORT</c> and
/// <c>gateway|NAME</c>; listeners <c>0.0.0.0_PORT</c>, <c>inbound</c>, <c>gateway|NAME</c>,
/// and for gRPC clients <c>SERVICE</c> and <c>SERVICE:PORT</c>. A sidecar with interception
/// (<see cref="NodeRole.Interception"/>) gets Istio-style virtual listeners instead:
/// <c>virtualOutbound</c> on 15001 and <c>virtualInbound</c> on 15006, choosing chains by the
/// original destination, with <c>PassthroughCluster</c> and <c>InboundPassthroughCluster</c>
/// (ORIGINAL_DST) for destinations the mesh does not know. Everything is emitted in a fixed
/// order so equal inputs give byte-equal resources.
/// </summary>
public static class SnapshotBuilder
{
    public const int InboundPort = 15006;
    public const int OutboundPort = 15001;
    public const string InboundListenerName = "inbound";
    public const string VirtualOutboundListenerName = "virtualOutbound";
    public const string VirtualInboundListenerName = "virtualInbound";
    public const string PassthroughClusterName = "PassthroughCluster";
    public const string InboundPassthroughClusterName = "InboundPassthroughCluster";
    public const string AllowAnyVirtualHostName = "allow_any";

    /// <summary>Envoy's route timeout when a route sets none.</summary>
    public static readonly TimeSpan DefaultRouteTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Cluster metadata key of the activation policy (scale from zero, burst holding).</summary>
    public const string ActivationMetadataKey = "herald.activation";
    public const string SourceWorkloadHeader = "x-herald-source-workload";
    public const string DestinationServiceHeader = "x-herald-destination-service";

    /// <summary>
    /// Source of inbound deliveries on interception nodes: the iptables rules return traffic
    /// from this address on lo, so the delivery is not redirected back to 15006.
    /// </summary>
    public const string InboundBindAddress = "127.0.0.6";
    public const string OriginalDstFilterName = "envoy.filters.listener.original_dst";
    public const string TlsInspectorFilterName = "envoy.filters.listener.tls_inspector";
    public const string RouterFilterName = "envoy.filters.http.router";
    public const string HttpConnectionManagerName = "envoy.filters.network.http_connection_manager";
    public const string TcpProxyName = "envoy.filters.network.tcp_proxy";
    private const string HttpProtocolOptionsKey = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    private static readonly Duration ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5));

    // What a sniffed cleartext HTTP connection reports; TLS and other bytes fall through to TCP chains.
    private static readonly string[] HttpApplicationProtocols = ["http/1.1", "http/1.0", "h2c"];

    public static string OutboundCluster(int port, string? subset, string service) => $"outbound|{port}|{subset}|{service}";

    public static string InboundCluster(int port, string service) => $"inbound|{port}||{service}";

    public static string OutboundRoute(int port) => $"outbound|{port}";

    public static string GatewayRoute(string gateway) => $"gateway|{gateway}";

    public static string GatewayListener(string gateway) => $"gateway|{gateway}";

    public static string OutboundListener(int port) => $"0.0.0.0_{port}";

    public static XdsSnapshot Build(MeshConfig mesh, RegistryView registry, NodeRole role)
    {
        ArgumentNullException.ThrowIfNull(mesh);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(role);
        var context = new Context(mesh, registry, role);
        return context.Build();
    }

    private sealed class Context(MeshConfig mesh, RegistryView registry, NodeRole role)
    {
        private readonly List<XdsResource> _listeners = [];
        private readonly List<XdsResource> _routes = [];
        private readonly SortedDictionary<string, XdsResource> _clusters = new(StringComparer.Ordinal);
        private readonly SortedDictionary<string, XdsResource> _endpoints = new(StringComparer.Ordinal);

        private bool Proxyless => role.Kind == NodeKind.Proxyless;

        // Only sidecars honour interception: gateways bind their port, gRPC clients have no listeners.
        private InterceptionMode Interception => role.Kind == NodeKind.Sidecar ? role.Interception : InterceptionMode.None;

        private bool Intercepting => Interception != InterceptionMode.None;

        public XdsSnapshot Build()
        {
            if (role.Kind == NodeKind.Gateway)
            {
                BuildGateway();
            }
            else
            {
                BuildClientSide();
            }

            return new XdsSnapshot(_listeners, _routes, _clusters.Values, _endpoints.Values);
        }

        private void BuildGateway()
        {
            var gateway = mesh.Gateways.FirstOrDefault(g => g.Name == role.Gateway);
            if (gateway is null)
            {
                return;
            }

            var host = new VirtualHost { Name = gateway.Name };
            host.Domains.AddRange(gateway.Hosts.Distinct(StringComparer.OrdinalIgnoreCase));
            foreach (var route in gateway.Routes)
            {
                var port = route.Port ?? HttpPorts(route.Service).First();
                AddTargetClusters(route.Service, port);
                host.Routes.AddRange(RoutesFor(route.Service, port, route.Match));
            }

            var config = new RouteConfiguration { Name = GatewayRoute(gateway.Name) };
            config.VirtualHosts.Add(host);
            _routes.Add(new XdsResource(config.Name, config));
            var listener = new EnvoyListener
            {
                Name = GatewayListener(gateway.Name),
                Address = SocketAddress("0.0.0.0", gateway.Port),
                TrafficDirection = TrafficDirection.Inbound,
            };
            listener.FilterChains.Add(HttpChain($"gateway_{gateway.Name}", config.Name, null));
            _listeners.Add(new XdsResource(listener.Name, listener));
        }

        private void BuildClientSide()
        {
            var sidecar = role.Workload is { } w ? mesh.Sidecars.FirstOrDefault(s => s.Workload == w) : null;
            var ownService = role.Service ?? sidecar?.Service ?? (role.Workload is { } wl && mesh.FindService(wl) is not null ? wl : null);
            var dependencies = sidecar?.Dependencies is { } deps
                ? deps.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList()
                : mesh.Services.Select(s => s.Name).Concat(mesh.External.Select(e => e.Name)).Order(StringComparer.Ordinal).ToList();

            // Port -> the dependencies reachable on it, in name order.
            var byPort = new SortedDictionary<int, List<(string Service, MeshPort Port)>>();
            foreach (var dependency in dependencies)
            {
                foreach (var port in PortsOf(dependency))
                {
                    if (!byPort.TryGetValue(port.Port, out var list))
                    {
                        byPort[port.Port] = list = [];
                    }

                    list.Add((dependency, port));
                    AddTargetClusters(dependency, port.Port);
                }
            }

            var outboundChains = new List<FilterChain>();
            foreach (var (port, entries) in byPort)
            {
                var http = entries.Where(e => e.Port.IsHttp).ToList();
                if (http.Count > 0)
                {
                    var config = new RouteConfiguration { Name = OutboundRoute(port) };
                    // Envoy refuses a domain twice in one route configuration: the first service by name keeps an IP.
                    HashSet<string>? claimed = Intercepting ? new(StringComparer.Ordinal) : null;
                    foreach (var (service, meshPort) in http)
                    {
                        var host = new VirtualHost { Name = $"{service}:{port}" };
                        host.Domains.AddRange(Domains(service, port));
                        if (claimed is not null)
                        {
                            claimed.UnionWith(host.Domains);
                            foreach (var domain in InstanceDomains(service, meshPort))
                            {
                                if (claimed.Add(domain))
                                {
                                    host.Domains.Add(domain);
                                }
                            }
                        }

                        host.Routes.AddRange(RoutesFor(service, port, MeshMatch.Any));
                        config.VirtualHosts.Add(host);
                    }

                    if (Intercepting)
                    {
                        DecorateInterceptedRoute(config);
                    }

                    _routes.Add(new XdsResource(config.Name, config));
                    foreach (var (service, meshPort) in http)
                    {
                        AddApiListener($"{service}:{port}", config.Name);
                        if (HttpPorts(service).First() == meshPort.Port)
                        {
                            AddApiListener(service, config.Name);
                        }
                    }
                }

                if (Proxyless)
                {
                    continue;
                }

                if (Intercepting)
                {
                    outboundChains.AddRange(InterceptedOutboundChains(port, entries));
                    continue;
                }

                var listener = new EnvoyListener
                {
                    Name = OutboundListener(port),
                    Address = SocketAddress("0.0.0.0", port),
                    TrafficDirection = TrafficDirection.Outbound,
                };
                if (http.Count > 0)
                {
                    // One port, one protocol family: HTTP wins a port shared with TCP or TLS services.
                    listener.FilterChains.Add(HttpChain($"outbound_{port}", OutboundRoute(port), null));
                }
                else
                {
                    var tls = entries.Where(e => e.Port.Protocol == MeshProtocol.Tls).ToList();
                    if (tls.Count > 0)
                    {
                        listener.ListenerFilters.Add(new ListenerFilter { Name = TlsInspectorFilterName, TypedConfig = Any.Pack(new TlsInspector()) });
                        foreach (var (service, _) in tls)
                        {
                            var chain = TcpChain($"outbound_{port}_{service}", OutboundCluster(port, null, service));
                            chain.FilterChainMatch = new FilterChainMatch { TransportProtocol = "tls" };
                            chain.FilterChainMatch.ServerNames.AddRange(Domains(service, null));
                            listener.FilterChains.Add(chain);
                        }
                    }
                    else
                    {
                        // Plain TCP carries no name to choose by: the first dependency owns the port.
                        var (service, _) = entries[0];
                        listener.FilterChains.Add(TcpChain($"outbound_{port}", OutboundCluster(port, null, service)));
                    }
                }

                _listeners.Add(new XdsResource(listener.Name, listener));
            }

            var own = !Proxyless && ownService is not null && mesh.FindService(ownService) is { Mesh: true } s ? s : null;
            if (Intercepting)
            {
                BuildVirtualOutbound(outboundChains);
                BuildVirtualInbound(own);
            }
            else if (own is not null)
            {
                BuildInbound(own);
            }
        }

        // Unknown hosts on a dependency's port leave through the passthrough, as without a sidecar;
        // the source workload lets the destination's sidecar (or app) know who called.
        private void DecorateInterceptedRoute(RouteConfiguration config)
        {
            var allowAny = new VirtualHost { Name = AllowAnyVirtualHostName };
            allowAny.Domains.Add("*");
            // No route timeout: unknown destinations may stream or long-poll, as they would without a sidecar.
            allowAny.Routes.Add(new Route
            {
                Match = new RouteMatch { Prefix = "/" },
                Route_ = new RouteAction { Cluster = PassthroughClusterName, Timeout = new Duration() },
            });
            config.VirtualHosts.Add(allowAny);
            if (role.Workload is { } workload)
            {
                config.RequestHeadersToAdd.Add(SetHeader(SourceWorkloadHeader, workload));
            }
        }

        // One dependency port's chains on virtualOutbound: HTTP by sniffed protocol, TLS by SNI,
        // TCP by the destination IPs the mesh knows for the service.
        private List<FilterChain> InterceptedOutboundChains(int port, List<(string Service, MeshPort Port)> entries)
        {
            var chains = new List<FilterChain>();
            if (entries.Any(e => e.Port.IsHttp))
            {
                var chain = HttpChain($"outbound_{port}", OutboundRoute(port), null);
                chain.Name = $"outbound_{port}_http";
                chain.FilterChainMatch = new FilterChainMatch { DestinationPort = (uint)port };
                chain.FilterChainMatch.ApplicationProtocols.AddRange(HttpApplicationProtocols);
                chains.Add(chain);
            }

            var claimed = new HashSet<IPAddress>();
            foreach (var (service, meshPort) in entries)
            {
                if (meshPort.Protocol == MeshProtocol.Tls)
                {
                    var chain = TcpChain($"outbound_{port}_{service}", OutboundCluster(port, null, service));
                    chain.FilterChainMatch = new FilterChainMatch { DestinationPort = (uint)port, TransportProtocol = "tls" };
                    chain.FilterChainMatch.ServerNames.AddRange(Domains(service, null));
                    chains.Add(chain);
                }
                else if (meshPort.Protocol == MeshProtocol.Tcp)
                {
                    var match = new FilterChainMatch { DestinationPort = (uint)port };
                    foreach (var address in AddressesOf(service, meshPort))
                    {
                        if (claimed.Add(address))
                        {
                            match.PrefixRanges.Add(new CidrRange { AddressPrefix = address.ToString(), PrefixLen = address.AddressFamily == AddressFamily.InterNetworkV6 ? 128u : 32u });
                        }
                    }

                    // Without known addresses a TCP service cannot be told apart: the passthrough carries it.
                    if (match.PrefixRanges.Count == 0)
                    {
                        continue;
                    }

                    var chain = TcpChain($"outbound_{port}_{service}", OutboundCluster(port, null, service));
                    chain.FilterChainMatch = match;
                    chains.Add(chain);
                }
            }

            return chains;
        }

        private void BuildVirtualOutbound(List<FilterChain> chains)
        {
            var listener = new EnvoyListener
            {
                Name = VirtualOutboundListenerName,
                Address = SocketAddress("0.0.0.0", OutboundPort),
                TrafficDirection = TrafficDirection.Outbound,
                DefaultFilterChain = TcpChain(PassthroughClusterName, PassthroughClusterName),
            };
            listener.ListenerFilters.Add(OriginalDstFilter());
            if (chains.Any(c => c.FilterChainMatch.TransportProtocol == "tls"))
            {
                listener.ListenerFilters.Add(new ListenerFilter { Name = TlsInspectorFilterName, TypedConfig = Any.Pack(new TlsInspector()) });
            }

            listener.FilterChains.AddRange(chains);
            _listeners.Add(new XdsResource(listener.Name, listener));

            var passthrough = OriginalDstCluster(PassthroughClusterName);
            UseDownstreamProtocol(passthrough);
            _clusters[passthrough.Name] = new XdsResource(passthrough.Name, passthrough);
        }

        // Deliveries keep the original destination (the pod's own IP and port) and come from 127.0.0.6.
        private void BuildVirtualInbound(MeshService? service)
        {
            var listener = new EnvoyListener
            {
                Name = VirtualInboundListenerName,
                Address = SocketAddress("0.0.0.0", InboundPort),
                TrafficDirection = TrafficDirection.Inbound,
                DefaultFilterChain = TcpChain(InboundPassthroughClusterName, InboundPassthroughClusterName),
            };
            if (Interception == InterceptionMode.Tproxy)
            {
                // TPROXY keeps the original destination on the socket: the listener must accept foreign addresses.
                listener.Transparent = true;
            }

            listener.ListenerFilters.Add(OriginalDstFilter());
            foreach (var port in service?.Ports.OrderBy(p => p.InstancePort) ?? Enumerable.Empty<MeshPort>())
            {
                var clusterName = InboundCluster(port.InstancePort, service!.Name);
                var cluster = OriginalDstCluster(clusterName);
                cluster.UpstreamBindConfig = InboundBind();
                AddHttp2Options(cluster, port.Protocol);
                _clusters[clusterName] = new XdsResource(clusterName, cluster);

                if (port.IsHttp)
                {
                    var routeConfig = InboundRouteConfig(port.InstancePort, clusterName);
                    routeConfig.RequestHeadersToAdd.Add(SetHeader(DestinationServiceHeader, service.Name));
                    var http = HttpChain($"inbound_{port.InstancePort}", null, routeConfig);
                    http.Name = $"inbound_{port.InstancePort}_http";
                    http.FilterChainMatch = new FilterChainMatch { DestinationPort = (uint)port.InstancePort };
                    http.FilterChainMatch.ApplicationProtocols.AddRange(HttpApplicationProtocols);
                    listener.FilterChains.Add(http);
                }

                // Also on HTTP ports: bytes that are not HTTP still reach the application.
                var tcp = TcpChain($"inbound_{port.InstancePort}", clusterName);
                tcp.FilterChainMatch = new FilterChainMatch { DestinationPort = (uint)port.InstancePort };
                listener.FilterChains.Add(tcp);
            }

            _listeners.Add(new XdsResource(listener.Name, listener));

            var passthrough = OriginalDstCluster(InboundPassthroughClusterName);
            passthrough.UpstreamBindConfig = InboundBind();
            UseDownstreamProtocol(passthrough);
            _clusters[passthrough.Name] = new XdsResource(passthrough.Name, passthrough);
        }

        // The IPs of a TCP dependency on a port: registry instances of a mesh service, or an external's fixed addresses.
        private List<IPAddress> AddressesOf(string name, MeshPort port)
        {
            IEnumerable<string> hosts = mesh.FindService(name) is { } service
                ? InstancesOn(service, port).Select(i => i.Address)
                : mesh.FindExternal(name)?.Addresses.Select(a => a.Host) ?? [];
            return Canonical(hosts);
        }

        // Clients that dial an instance's IP send it as the Host: "IP", "IP:PORT", IPv6 in brackets.
        private List<string> InstanceDomains(string name, MeshPort port)
        {
            var domains = new List<string>();
            if (mesh.FindService(name) is not { } service)
            {
                return domains;
            }

            var suffix = port.Port.ToString(CultureInfo.InvariantCulture);
            foreach (var address in Canonical(InstancesOn(service, port).Select(i => i.Address)))
            {
                var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
                domains.Add(host);
                domains.Add($"{host}:{suffix}");
            }

            return domains;
        }

        // Distinct IP literals in a fixed order (family, then text), without IPv6 scope ids.
        private static List<IPAddress> Canonical(IEnumerable<string> hosts)
        {
            var result = new List<IPAddress>();
            foreach (var host in hosts)
            {
                if (IPAddress.TryParse(host, out var address))
                {
                    result.Add(new IPAddress(address.GetAddressBytes()));
                }
            }

            return [.. result.Distinct().OrderBy(a => a.AddressFamily).ThenBy(a => a.ToString(), StringComparer.Ordinal)];
        }

        private static Cluster OriginalDstCluster(string name) => new()
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.OriginalDst,
            ConnectTimeout = ConnectTimeout,
            LbPolicy = Cluster.Types.LbPolicy.ClusterProvided,
        };

        private static BindConfig InboundBind() => new()
        {
            SourceAddress = new SocketAddress { Address = InboundBindAddress, PortValue = 0 },
        };

        // Passthrough keeps the client's protocol: h2c stays h2c, HTTP/1.1 stays HTTP/1.1.
        private static void UseDownstreamProtocol(Cluster cluster)
        {
            var options = new HttpProtocolOptions
            {
                UseDownstreamProtocolConfig = new HttpProtocolOptions.Types.UseDownstreamHttpConfig
                {
                    HttpProtocolOptions = new Http1ProtocolOptions(),
                    Http2ProtocolOptions = new Http2ProtocolOptions(),
                },
            };
            cluster.TypedExtensionProtocolOptions.Add(HttpProtocolOptionsKey, Any.Pack(options));
        }

        private static HeaderValueOption SetHeader(string name, string value) => new()
        {
            Header = new HeaderValue { Key = name, Value = value },
            AppendAction = HeaderValueOption.Types.HeaderAppendAction.OverwriteIfExistsOrAdd,
        };

        private static ListenerFilter OriginalDstFilter() => new() { Name = OriginalDstFilterName, TypedConfig = Any.Pack(new OriginalDst()) };

        private static RouteConfiguration InboundRouteConfig(int port, string clusterName)
        {
            var routeConfig = new RouteConfiguration { Name = $"inbound|{port.ToString(CultureInfo.InvariantCulture)}" };
            var host = new VirtualHost { Name = "inbound" };
            host.Domains.Add("*");
            host.Routes.Add(new Route { Match = new RouteMatch { Prefix = "/" }, Route_ = new RouteAction { Cluster = clusterName } });
            routeConfig.VirtualHosts.Add(host);
            return routeConfig;
        }

        private void AddApiListener(string name, string routeName)
        {
            var hcm = new HttpConnectionManager
            {
                StatPrefix = name,
                Rds = new Rds { RouteConfigName = routeName, ConfigSource = Ads() },
            };
            hcm.HttpFilters.Add(Router());
            var listener = new EnvoyListener { Name = name, ApiListener = new ApiListener { ApiListener_ = Any.Pack(hcm) } };
            _listeners.Add(new XdsResource(name, listener, onlyWhenNamed: !Proxyless));
        }

        private void BuildInbound(MeshService service)
        {
            var listener = new EnvoyListener
            {
                Name = InboundListenerName,
                Address = SocketAddress("0.0.0.0", InboundPort),
                TrafficDirection = TrafficDirection.Inbound,
            };
            listener.ListenerFilters.Add(OriginalDstFilter());
            foreach (var port in service.Ports.OrderBy(p => p.InstancePort))
            {
                var clusterName = InboundCluster(port.InstancePort, service.Name);
                var cluster = new Cluster
                {
                    Name = clusterName,
                    Type = Cluster.Types.DiscoveryType.Static,
                    ConnectTimeout = ConnectTimeout,
                    LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
                    LoadAssignment = Assignment(clusterName, [new Locality()], [new List<(string, int)> { ("127.0.0.1", port.InstancePort) }]),
                };
                AddHttp2Options(cluster, port.Protocol);
                _clusters[clusterName] = new XdsResource(clusterName, cluster);

                FilterChain chain;
                if (port.IsHttp)
                {
                    chain = HttpChain($"inbound_{port.InstancePort}", null, InboundRouteConfig(port.InstancePort, clusterName));
                }
                else
                {
                    chain = TcpChain($"inbound_{port.InstancePort}", clusterName);
                }

                chain.FilterChainMatch = new FilterChainMatch { DestinationPort = (uint)port.InstancePort };
                listener.FilterChains.Add(chain);
            }

            _listeners.Add(new XdsResource(listener.Name, listener));
        }

        // Clusters (and their assignments) for every subset of a service on one port.
        private void AddTargetClusters(string name, int port)
        {
            if (mesh.FindService(name) is { } service)
            {
                var meshPort = service.Ports.First(p => p.Port == port);
                var instances = InstancesOn(service, meshPort);
                AddEdsCluster(OutboundCluster(port, null, name), meshPort.Protocol, instances, service.Activation, service);
                foreach (var subset in service.Subsets)
                {
                    AddEdsCluster(OutboundCluster(port, subset.Name, name), meshPort.Protocol, instances.Where(i => InSubset(i, subset)).ToList(), service.Activation, service);
                }

                return;
            }

            var external = mesh.FindExternal(name)!;
            var clusterName = OutboundCluster(port, null, name);
            if (external.Dns is { } dns)
            {
                var cluster = new Cluster
                {
                    Name = clusterName,
                    Type = Proxyless ? Cluster.Types.DiscoveryType.LogicalDns : Cluster.Types.DiscoveryType.StrictDns,
                    ConnectTimeout = ConnectTimeout,
                    LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
                    LoadAssignment = Assignment(clusterName, [new Locality()], [new List<(string, int)> { (dns, external.Port) }]),
                };
                AddHttp2Options(cluster, external.Protocol);
                _clusters[clusterName] = new XdsResource(clusterName, cluster);
            }
            else if (Proxyless)
            {
                // gRPC clients take EDS or LOGICAL_DNS clusters only, so fixed addresses travel as EDS.
                var instances = external.Addresses
                    .Select(a => new ServiceInstance(string.Empty, name, a.Host, a.Port, new Dictionary<string, string>(), null, null, default, null))
                    .ToList();
                AddEdsCluster(clusterName, external.Protocol, instances, null);
            }
            else
            {
                var cluster = new Cluster
                {
                    Name = clusterName,
                    Type = Cluster.Types.DiscoveryType.Static,
                    ConnectTimeout = ConnectTimeout,
                    LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
                    LoadAssignment = Assignment(clusterName, [new Locality()], [external.Addresses.Select(a => (a.Host, a.Port)).ToList()]),
                };
                AddHttp2Options(cluster, external.Protocol);
                _clusters[clusterName] = new XdsResource(clusterName, cluster);
            }
        }

        private void AddEdsCluster(string name, MeshProtocol protocol, IReadOnlyList<ServiceInstance> instances, MeshActivation? activation, MeshService? service = null)
        {
            var cluster = new Cluster
            {
                Name = name,
                Type = Cluster.Types.DiscoveryType.Eds,
                EdsClusterConfig = new Cluster.Types.EdsClusterConfig { EdsConfig = Ads(), ServiceName = name },
                ConnectTimeout = ConnectTimeout,
                LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
            };
            if (activation is not null && !Proxyless)
            {
                cluster.Metadata = ActivationMetadata(activation);
            }

            // gRPC's xDS client has no circuit breakers or health checking to honour: proxyless nodes get none.
            if (service is not null && !Proxyless)
            {
                if (service.CircuitBreakers is { } breakers)
                {
                    cluster.CircuitBreakers = CircuitBreakersOf(breakers);
                }

                AddHealth(cluster, service);
            }

            AddHttp2Options(cluster, protocol);
            _clusters[name] = new XdsResource(name, cluster);

            // One locality group per (region, zone) label pair; every group names its locality.
            var groups = instances
                .GroupBy(i => (Label(i, "region"), Label(i, "zone")))
                .OrderBy(g => g.Key.Item1, StringComparer.Ordinal)
                .ThenBy(g => g.Key.Item2, StringComparer.Ordinal)
                .ToList();
            var localities = groups.Select(g => new Locality { Region = g.Key.Item1, Zone = g.Key.Item2 }).ToList();
            var endpoints = groups
                .Select(g => (IReadOnlyList<(string, int)>)g.Select(i => (i.Address, i.Port)).Distinct().Order().ToList())
                .ToList();
            _endpoints[name] = new XdsResource(name, Assignment(name, localities, endpoints));
        }

        // The service's outlier_detection and health_check, as Envoy fields (sidecars and gateways only).
        private static void AddHealth(Cluster cluster, MeshService service)
        {
            if (service.OutlierDetection is { } outlier)
            {
                cluster.OutlierDetection = new OutlierDetection
                {
                    Consecutive5Xx = (uint?)outlier.Consecutive5xx,
                    ConsecutiveGatewayFailure = (uint?)outlier.ConsecutiveGatewayFailure,
                    EnforcingConsecutiveGatewayFailure = outlier.ConsecutiveGatewayFailure is null ? null : 100,
                    Interval = outlier.Interval is { } interval ? Duration.FromTimeSpan(interval) : null,
                    BaseEjectionTime = outlier.BaseEjectionTime is { } baseTime ? Duration.FromTimeSpan(baseTime) : null,
                    MaxEjectionPercent = (uint?)outlier.MaxEjectionPercent,
                };
            }

            if (service.HealthCheck is { } check)
            {
                var interval = Duration.FromTimeSpan(check.Interval);
                var healthCheck = new HealthCheck
                {
                    Timeout = Duration.FromTimeSpan(check.Timeout),
                    Interval = interval,

                    // The mesh file's interval applies before the first request too.
                    NoTrafficInterval = interval,
                    UnhealthyThreshold = (uint)check.UnhealthyThreshold,
                    HealthyThreshold = (uint)check.HealthyThreshold,
                };
                if (check.HttpPath is { } path)
                {
                    healthCheck.HttpHealthCheck = new HealthCheck.Types.HttpHealthCheck { Path = path };
                }
                else if (check.GrpcService is { } grpcService)
                {
                    healthCheck.GrpcHealthCheck = new HealthCheck.Types.GrpcHealthCheck { ServiceName = grpcService };
                }
                else
                {
                    healthCheck.TcpHealthCheck = new HealthCheck.Types.TcpHealthCheck();
                }

                cluster.HealthChecks.Add(healthCheck);
            }
        }

        // The data plane's activation policy travels in the cluster's metadata (key herald.activation).
        private static CircuitBreakers CircuitBreakersOf(MeshCircuitBreakers breakers)
        {
            var thresholds = new CircuitBreakers.Types.Thresholds();
            if (breakers.MaxConnections is { } cx)
            {
                thresholds.MaxConnections = (uint)cx;
            }

            if (breakers.MaxPendingRequests is { } pending)
            {
                thresholds.MaxPendingRequests = (uint)pending;
            }

            if (breakers.MaxRequests is { } requests)
            {
                thresholds.MaxRequests = (uint)requests;
            }

            if (breakers.MaxRetries is { } retries)
            {
                thresholds.MaxRetries = (uint)retries;
            }

            return new CircuitBreakers { Thresholds = { thresholds } };
        }

        private Metadata ActivationMetadata(MeshActivation activation)
        {
            var policy = new Struct
            {
                Fields =
                {
                    ["hold_timeout"] = Value.ForString($"{(long)activation.HoldTimeout.TotalMilliseconds}ms"),
                    ["queue_depth"] = Value.ForNumber(activation.QueueDepth),
                    ["endpoint_concurrency"] = Value.ForNumber(activation.EndpointConcurrency),
                },
            };
            if (activation.Webhook is { } webhook)
            {
                policy.Fields["webhook"] = Value.ForString(webhook.ToString());
            }

            if (mesh.DemandUrl is { } demand)
            {
                policy.Fields["control_plane"] = Value.ForString(demand.ToString());
            }

            var metadata = new Metadata();
            metadata.FilterMetadata.Add(ActivationMetadataKey, policy);
            return metadata;
        }

        private void AddHttp2Options(Cluster cluster, MeshProtocol protocol)
        {
            if (Proxyless || protocol is not (MeshProtocol.Http2 or MeshProtocol.Grpc))
            {
                return;
            }

            var options = new HttpProtocolOptions
            {
                ExplicitHttpConfig = new HttpProtocolOptions.Types.ExplicitHttpConfig { Http2ProtocolOptions = new Http2ProtocolOptions() },
            };
            cluster.TypedExtensionProtocolOptions.Add(HttpProtocolOptionsKey, Any.Pack(options));
        }

        private List<Route> RoutesFor(string name, int port, MeshMatch outer)
        {
            var routes = new List<Route>();
            var service = mesh.FindService(name);
            var routing = service?.Routing ?? mesh.FindExternal(name)!.Routing;

            // A held request must be able to wait its whole hold: without a timeout of its own,
            // the route gets the hold timeout instead of Envoy's 15 s default (which would end
            // every longer hold with a 504 before the hold's own 503).
            if (service?.Activation is { } activation && routing.Timeout is null && activation.HoldTimeout > DefaultRouteTimeout)
            {
                routing = routing with { Timeout = activation.HoldTimeout };
            }

            foreach (var rule in routing.Rules)
            {
                var action = Action(service, name, port, rule.Action);
                if (action is null)
                {
                    continue;
                }

                Decorate(action, rule.Timeout ?? routing.Timeout, rule.Retries ?? routing.Retries, ProtocolOf(name, port));
                routes.Add(new Route { Match = Match(Merge(outer, rule.Match)), Route_ = action });
            }

            var fallback = new RouteAction { Cluster = OutboundCluster(port, null, name) };
            Decorate(fallback, routing.Timeout, routing.Retries, ProtocolOf(name, port));
            routes.Add(new Route { Match = Match(outer), Route_ = fallback });
            return routes;
        }

        private RouteAction? Action(MeshService? service, string name, int port, MeshRouteAction action)
        {
            switch (action.Kind)
            {
                case MeshActionKind.Subset:
                    return new RouteAction { Cluster = OutboundCluster(port, action.Subset, name) };
                case MeshActionKind.Split:
                    var weighted = new WeightedCluster();
                    foreach (var entry in action.Split)
                    {
                        if (entry.Weight > 0)
                        {
                            weighted.Clusters.Add(new WeightedCluster.Types.ClusterWeight { Name = OutboundCluster(port, entry.Subset, name), Weight = (uint)entry.Weight });
                        }
                    }

                    return new RouteAction { WeightedClusters = weighted };
                case MeshActionKind.Version:
                    var subset = PickVersion(service!, port, action.VersionRange!);
                    return subset is null ? null : new RouteAction { Cluster = OutboundCluster(port, subset.Name, name) };
                default:
                    return new RouteAction { Cluster = OutboundCluster(port, null, name) };
            }
        }

        // The highest version in range among subsets with instances; failing that, the highest in range.
        private MeshSubset? PickVersion(MeshService service, int port, SemVerRange range)
        {
            var meshPort = service.Ports.First(p => p.Port == port);
            var instances = InstancesOn(service, meshPort);
            MeshSubset? best = null;
            var bestHasInstances = false;
            foreach (var subset in service.Subsets.OrderBy(s => s.Name, StringComparer.Ordinal))
            {
                if (subset.Version is null || !range.IsSatisfiedBy(subset.Version))
                {
                    continue;
                }

                var hasInstances = instances.Any(i => InSubset(i, subset));
                if (best is null
                    || (hasInstances && !bestHasInstances)
                    || (hasInstances == bestHasInstances && subset.Version > best.Version!))
                {
                    best = subset;
                    bestHasInstances = hasInstances;
                }
            }

            return best;
        }

        private static void Decorate(RouteAction action, TimeSpan? timeout, MeshRetries? retries, MeshProtocol protocol)
        {
            if (timeout is { } t)
            {
                action.Timeout = Duration.FromTimeSpan(t);
            }

            if (retries is { Attempts: > 0 } r)
            {
                action.RetryPolicy = new RetryPolicy
                {
                    RetryOn = r.On ?? (protocol == MeshProtocol.Grpc ? "unavailable,cancelled,reset,connect-failure" : "5xx,reset,connect-failure,refused-stream"),
                    NumRetries = (uint)r.Attempts,
                };
                if (r.PerTryTimeout is { } perTry)
                {
                    action.RetryPolicy.PerTryTimeout = Duration.FromTimeSpan(perTry);
                }
            }
        }

        // A gateway's match narrows a service rule: the rule's path wins when both set one.
        private static MeshMatch Merge(MeshMatch outer, MeshMatch inner) => new(
            inner.PathKind != MeshPathKind.None ? inner.PathKind : outer.PathKind,
            inner.PathKind != MeshPathKind.None ? inner.Path : outer.Path,
            [.. outer.Headers, .. inner.Headers],
            [.. outer.Cookies, .. inner.Cookies],
            [.. outer.Query, .. inner.Query]);

        private static RouteMatch Match(MeshMatch match)
        {
            var result = new RouteMatch();
            switch (match.PathKind)
            {
                case MeshPathKind.Exact:
                    result.Path = match.Path;
                    break;
                case MeshPathKind.Regex:
                    result.SafeRegex = new RegexMatcher { Regex = match.Path };
                    break;
                case MeshPathKind.Prefix:
                    result.Prefix = match.Path;
                    break;
                default:
                    result.Prefix = "/";
                    break;
            }

            foreach (var header in match.Headers)
            {
                result.Headers.Add(new HeaderMatcher { Name = header.Name.ToLowerInvariant(), StringMatch = StringMatch(header) });
            }

            foreach (var cookie in match.Cookies)
            {
                // Cookies arrive in one header; the regex must match the whole value.
                var value = cookie.IsRegex ? $"(?:{cookie.Value})" : Escape(cookie.Value);
                result.Headers.Add(new HeaderMatcher
                {
                    Name = "cookie",
                    StringMatch = new StringMatcher { SafeRegex = new RegexMatcher { Regex = $"^(?:.*;\\s*)?{Escape(cookie.Name)}={value}(?:;.*)?$" } },
                });
            }

            foreach (var query in match.Query)
            {
                result.QueryParameters.Add(new QueryParameterMatcher { Name = query.Name, StringMatch = StringMatch(query) });
            }

            return result;
        }

        private static StringMatcher StringMatch(MeshValueMatch match) => match.IsRegex
            ? new StringMatcher { SafeRegex = new RegexMatcher { Regex = match.Value } }
            : new StringMatcher { Exact = match.Value };

        // Escapes RE2 metacharacters only (System.Text.RegularExpressions.Regex.Escape also escapes spaces and '#').
        internal static string Escape(string text)
        {
            var builder = new StringBuilder(text.Length + 8);
            foreach (var c in text)
            {
                if ("\\.+*?()|[]{}^$".Contains(c, StringComparison.Ordinal))
                {
                    builder.Append('\\');
                }

                builder.Append(c);
            }

            return builder.ToString();
        }

        private static FilterChain HttpChain(string statPrefix, string? rdsName, RouteConfiguration? inline)
        {
            var hcm = new HttpConnectionManager { StatPrefix = statPrefix, CodecType = HttpConnectionManager.Types.CodecType.Auto };
            if (inline is not null)
            {
                hcm.RouteConfig = inline;
            }
            else
            {
                hcm.Rds = new Rds { RouteConfigName = rdsName, ConfigSource = Ads() };
            }

            // Envoy refuses WebSocket upgrades unless asked to allow them; a mesh carries them as Istio does.
            hcm.UpgradeConfigs.Add(new HttpConnectionManager.Types.UpgradeConfig { UpgradeType = "websocket" });
            hcm.HttpFilters.Add(Router());
            var chain = new FilterChain { Name = statPrefix };
            chain.Filters.Add(new Filter { Name = HttpConnectionManagerName, TypedConfig = Any.Pack(hcm) });
            return chain;
        }

        private static FilterChain TcpChain(string statPrefix, string cluster)
        {
            var chain = new FilterChain { Name = statPrefix };
            chain.Filters.Add(new Filter { Name = TcpProxyName, TypedConfig = Any.Pack(new TcpProxy { StatPrefix = statPrefix, Cluster = cluster }) });
            return chain;
        }

        private static HttpFilter Router() => new() { Name = RouterFilterName, TypedConfig = Any.Pack(new Router()) };

        private static ConfigSource Ads() => new() { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 };

        private static Address SocketAddress(string address, int port) =>
            new() { SocketAddress = new SocketAddress { Address = address, PortValue = (uint)port } };

        private static ClusterLoadAssignment Assignment(string name, List<Locality> localities, List<IReadOnlyList<(string Host, int Port)>> endpoints)
        {
            var assignment = new ClusterLoadAssignment { ClusterName = name };
            for (var i = 0; i < localities.Count; i++)
            {
                // gRPC clients skip localities without a weight.
                var group = new LocalityLbEndpoints { Locality = localities[i], Priority = 0, LoadBalancingWeight = 1 };
                foreach (var (host, port) in endpoints[i])
                {
                    group.LbEndpoints.Add(new LbEndpoint { Endpoint = new Endpoint { Address = SocketAddress(host, port) } });
                }

                assignment.Endpoints.Add(group);
            }

            return assignment;
        }

        private List<string> Domains(string name, int? port)
        {
            var hosts = new List<string> { name };
            if (mesh.FindService(name) is { Namespace: { } ns })
            {
                hosts.Add($"{name}.{ns}");
                hosts.Add($"{name}.{ns}.svc.cluster.local");
            }
            else if (mesh.FindExternal(name) is { Dns: { } dns } && dns != name)
            {
                hosts.Add(dns);
            }

            if (port is { } p)
            {
                var count = hosts.Count;
                for (var i = 0; i < count; i++)
                {
                    hosts.Add($"{hosts[i]}:{p.ToString(CultureInfo.InvariantCulture)}");
                }
            }

            return hosts;
        }

        private IEnumerable<MeshPort> PortsOf(string name)
        {
            if (mesh.FindService(name) is { } service)
            {
                return service.Ports.OrderBy(p => p.Port);
            }

            return mesh.FindExternal(name) is { } external ? [new MeshPort(external.Port, external.Protocol, null, null)] : [];
        }

        private IEnumerable<int> HttpPorts(string name) => PortsOf(name).Where(p => p.IsHttp).Select(p => p.Port);

        private MeshProtocol ProtocolOf(string name, int port) => PortsOf(name).First(p => p.Port == port).Protocol;

        // An instance serves a port when it registered that port's target, or the service has one port.
        private List<ServiceInstance> InstancesOn(MeshService service, MeshPort port)
        {
            var result = new List<ServiceInstance>();
            foreach (var instance in registry.InstancesOf(service.Name))
            {
                if (service.Ports.Count == 1 || instance.Port == port.InstancePort)
                {
                    result.Add(instance);
                }
            }

            return result;
        }

        // Labels select when the subset has any; otherwise its version must equal the instance's.
        private static bool InSubset(ServiceInstance instance, MeshSubset subset)
        {
            if (subset.Labels.Count > 0)
            {
                foreach (var (key, value) in subset.Labels)
                {
                    if (!instance.Labels.TryGetValue(key, out var actual) || actual != value)
                    {
                        return false;
                    }
                }

                return true;
            }

            if (subset.Version is null)
            {
                return true;
            }

            return instance.Version is not null && SemVersion.TryParse(instance.Version, out var v) && v == subset.Version;
        }

        private static string Label(ServiceInstance instance, string key) =>
            instance.Labels.TryGetValue(key, out var value) ? value : string.Empty;
    }
}
