using System.Net;
using Herald.Proxy.Listeners;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Config;

/// <summary>
/// Validates a whole Envoy bootstrap and produces a <see cref="ProxyConfig"/>; the first
/// problem found is a <see cref="ConfigException"/> naming its field.
/// </summary>
internal static class BootstrapTranslator
{
    public static ProxyConfig Translate(Envoy.Config.Bootstrap.V3.Bootstrap bootstrap, StatsStore stats)
    {
        FieldPolicy.RequireOnly(bootstrap, string.Empty, "node", "static_resources", "dynamic_resources", "admin");
        if (bootstrap.Node is { } node)
        {
            FieldPolicy.RequireOnly(node, "node", "id", "cluster", "metadata", "locality", "user_agent_name");
        }

        IPEndPoint? adminAddress = null;
        if (bootstrap.Admin is { } admin)
        {
            FieldPolicy.RequireOnly(admin, "admin", "address");
            if (admin.Address is not null)
            {
                adminAddress = ListenerTranslator.TranslateAddress(admin.Address, "admin.address");
            }
        }

        var clusters = new List<ClusterConfig>();
        var listeners = new List<ListenerConfig>();
        if (bootstrap.StaticResources is { } resources)
        {
            FieldPolicy.RequireOnly(resources, "static_resources", "listeners", "clusters", "secrets");
            var secrets = new Dictionary<string, Envoy.Extensions.TransportSockets.Tls.V3.Secret>(StringComparer.Ordinal);
            for (var i = 0; i < resources.Secrets.Count; i++)
            {
                var secret = resources.Secrets[i];
                if (secret.Name.Length == 0 || !secrets.TryAdd(secret.Name, secret))
                {
                    throw new ConfigException(FieldPolicy.Join(FieldPolicy.Index("static_resources", "secrets", i), "name"), $"secret name '{secret.Name}' is empty or used twice", "Give every secret a unique name");
                }
            }

            var clusterNames = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < resources.Clusters.Count; i++)
            {
                var path = FieldPolicy.Index("static_resources", "clusters", i);
                var cluster = ClusterTranslator.Translate(resources.Clusters[i], path);
                if (!clusterNames.Add(cluster.Name))
                {
                    throw new ConfigException(FieldPolicy.Join(path, "name"), $"duplicate cluster name '{cluster.Name}'", "Give every cluster a unique name");
                }

                clusters.Add(cluster);
            }

            var listenerNames = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < resources.Listeners.Count; i++)
            {
                var path = FieldPolicy.Index("static_resources", "listeners", i);
                var listener = ListenerTranslator.Translate(resources.Listeners[i], path, stats, null, secrets.GetValueOrDefault);
                if (!listenerNames.Add(listener.Name))
                {
                    throw new ConfigException(FieldPolicy.Join(path, "name"), $"duplicate listener name '{listener.Name}'", "Give every listener a unique name");
                }

                ValidateClusterReferences(listener, path, clusterNames);
                listeners.Add(listener);
            }
        }

        AdsSettings? ads = null;
        if (bootstrap.DynamicResources is { } dynamic)
        {
            ads = TranslateDynamicResources(dynamic, clusters);
        }

        return new ProxyConfig
        {
            Bootstrap = bootstrap,
            Listeners = listeners,
            Clusters = clusters,
            AdminAddress = adminAddress,
            AdsConfig = ads,
        };
    }

    private static AdsSettings TranslateDynamicResources(Envoy.Config.Bootstrap.V3.Bootstrap.Types.DynamicResources dynamic, List<ClusterConfig> clusters)
    {
        const string path = "dynamic_resources";
        FieldPolicy.RequireOnly(dynamic, path, "ads_config", "lds_config", "cds_config");
        foreach (var (name, source) in new[] { ("lds_config", dynamic.LdsConfig), ("cds_config", dynamic.CdsConfig) })
        {
            if (source is null)
            {
                continue;
            }

            var sourcePath = FieldPolicy.Join(path, name);
            FieldPolicy.RequireOnly(source, sourcePath, "ads", "resource_api_version", "initial_fetch_timeout");
            if (source.Ads is null)
            {
                throw new ConfigException(sourcePath, "Herald takes listeners and clusters over ADS only", $"Set {name}: {{ ads: {{}} }}");
            }
        }

        var ads = dynamic.AdsConfig;
        var adsPath = FieldPolicy.Join(path, "ads_config");
        if (ads is null)
        {
            throw new ConfigException(adsPath, "dynamic_resources needs ads_config", "Add ads_config with api_type GRPC and grpc_services naming the control plane's cluster");
        }

        FieldPolicy.RequireOnly(ads, adsPath, "api_type", "transport_api_version", "grpc_services", "set_node_on_first_message_only");
        var delta = ads.ApiType switch
        {
            Envoy.Config.Core.V3.ApiConfigSource.Types.ApiType.Grpc => false,
            Envoy.Config.Core.V3.ApiConfigSource.Types.ApiType.DeltaGrpc => true,
            _ => throw new ConfigException(FieldPolicy.Join(adsPath, "api_type"), $"api_type {ads.ApiType} is not supported", "Use GRPC or DELTA_GRPC"),
        };

        if (ads.GrpcServices.Count != 1)
        {
            throw new ConfigException(FieldPolicy.Join(adsPath, "grpc_services"), $"exactly one grpc_service is supported, found {ads.GrpcServices.Count}", "Name one static cluster with envoy_grpc; give it several endpoints for failover");
        }

        var service = ads.GrpcServices[0];
        var servicePath = FieldPolicy.Index(adsPath, "grpc_services", 0);
        FieldPolicy.RequireOnly(service, servicePath, "envoy_grpc", "timeout");
        if (service.EnvoyGrpc is null)
        {
            throw new ConfigException(servicePath, "Herald reaches control planes through envoy_grpc only", "Use envoy_grpc: { cluster_name: <static cluster> }");
        }

        FieldPolicy.RequireOnly(service.EnvoyGrpc, FieldPolicy.Join(servicePath, "envoy_grpc"), "cluster_name");
        var clusterName = service.EnvoyGrpc.ClusterName;
        if (!clusters.Exists(c => c.Name == clusterName))
        {
            throw new ConfigException(
                FieldPolicy.Join(servicePath, "envoy_grpc.cluster_name"),
                $"unknown cluster '{clusterName}'",
                "Define the control plane's cluster under static_resources.clusters");
        }

        return new AdsSettings { ClusterName = clusterName, Delta = delta };
    }

    /// <summary>Static routes must name clusters that exist (Envoy's validate_clusters).</summary>
    private static void ValidateClusterReferences(ListenerConfig listener, string path, HashSet<string> clusters)
    {
        var chains = new List<(FilterChainConfig Chain, string Path)>();
        for (var i = 0; i < listener.FilterChains.Count; i++)
        {
            chains.Add((listener.FilterChains[i], FieldPolicy.Index(path, "filter_chains", i)));
        }

        if (listener.DefaultFilterChain is not null)
        {
            chains.Add((listener.DefaultFilterChain, FieldPolicy.Join(path, "default_filter_chain")));
        }

        foreach (var (chain, chainPath) in chains)
        {
            var filterPath = FieldPolicy.Index(chainPath, "filters", 0) + ".typed_config";
            if (chain.Http is { } http && http.RouteTable.ValidateClusters != false)
            {
                var routes = http.Source.RouteConfig;
                for (var v = 0; v < routes.VirtualHosts.Count; v++)
                {
                    var host = routes.VirtualHosts[v];
                    for (var r = 0; r < host.Routes.Count; r++)
                    {
                        var action = host.Routes[r].Route_;
                        if (action is null)
                        {
                            continue;
                        }

                        var routePath = $"{filterPath}.route_config.virtual_hosts[{v}].routes[{r}].route";
                        if (action.Cluster.Length > 0)
                        {
                            Require(clusters, action.Cluster, routePath + ".cluster");
                        }

                        if (action.WeightedClusters is { } weighted)
                        {
                            for (var w = 0; w < weighted.Clusters.Count; w++)
                            {
                                Require(clusters, weighted.Clusters[w].Name, $"{routePath}.weighted_clusters.clusters[{w}].name");
                            }
                        }
                    }
                }
            }

            if (chain.Tcp is { } tcp)
            {
                if (tcp.Cluster is not null)
                {
                    Require(clusters, tcp.Cluster, filterPath + ".cluster");
                }

                for (var w = 0; w < tcp.WeightedClusters.Count; w++)
                {
                    Require(clusters, tcp.WeightedClusters[w].Name, $"{filterPath}.weighted_clusters.clusters[{w}].name");
                }
            }
        }
    }

    private static void Require(HashSet<string> clusters, string name, string path)
    {
        if (!clusters.Contains(name))
        {
            throw new ConfigException(path, $"unknown cluster '{name}'", "Define the cluster under static_resources.clusters or fix the name");
        }
    }
}
