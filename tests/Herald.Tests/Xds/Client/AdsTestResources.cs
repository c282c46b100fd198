using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Google.Protobuf.WellKnownTypes;
using Hcm = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager;
using Rds = Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.Rds;

namespace Herald.Tests.Xds.Client;

/// <summary>Small Envoy resources for the ADS client tests.</summary>
internal static class AdsTestResources
{
    /// <summary>A listener whose HTTP connection manager takes its routes from RDS, or a plain one.</summary>
    public static Listener Listener(string name, string? routeName = null)
    {
        var listener = new Listener
        {
            Name = name,
            Address = new Address { SocketAddress = new SocketAddress { Address = "0.0.0.0", PortValue = 8080 } },
        };
        var chain = new FilterChain();
        if (routeName is not null)
        {
            var hcm = new Hcm
            {
                StatPrefix = name,
                Rds = new Rds { RouteConfigName = routeName, ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } },
            };
            chain.Filters.Add(new Envoy.Config.Listener.V3.Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) });
        }

        listener.FilterChains.Add(chain);
        return listener;
    }

    public static Listener ApiListener(string name, string routeName) => new()
    {
        Name = name,
        ApiListener = new Envoy.Config.Listener.V3.ApiListener
        {
            ApiListener_ = Any.Pack(new Hcm { Rds = new Rds { RouteConfigName = routeName, ConfigSource = new ConfigSource { Ads = new AggregatedConfigSource() } } }),
        },
    };

    public static RouteConfiguration Route(string name, string domain = "*") => new()
    {
        Name = name,
        VirtualHosts = { new VirtualHost { Name = name + "-vh", Domains = { domain } } },
    };

    public static Cluster EdsCluster(string name, string? serviceName = null) => new()
    {
        Name = name,
        Type = Cluster.Types.DiscoveryType.Eds,
        EdsClusterConfig = new Cluster.Types.EdsClusterConfig
        {
            EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource() },
            ServiceName = serviceName ?? "",
        },
    };

    public static Cluster StaticCluster(string name) => new() { Name = name, Type = Cluster.Types.DiscoveryType.Static };

    public static ClusterLoadAssignment Assignment(string name, int port = 9000) => new()
    {
        ClusterName = name,
        Endpoints =
        {
            new LocalityLbEndpoints
            {
                LbEndpoints =
                {
                    new LbEndpoint
                    {
                        Endpoint = new Endpoint { Address = new Address { SocketAddress = new SocketAddress { Address = "10.0.0.1", PortValue = (uint)port } } },
                    },
                },
            },
        },
    };
}
