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
        FieldPolicy.RequireOnly(bootstrap, string.Empty, "node", "static_resources", "admin");
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
            FieldPolicy.RequireOnly(resources, "static_resources", "listeners", "clusters");
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
                var listener = ListenerTranslator.Translate(resources.Listeners[i], path, stats);
                if (!listenerNames.Add(listener.Name))
                {
                    throw new ConfigException(FieldPolicy.Join(path, "name"), $"duplicate listener name '{listener.Name}'", "Give every listener a unique name");
                }

                ValidateClusterReferences(listener, path, clusterNames);
                listeners.Add(listener);
            }
        }

        return new ProxyConfig
        {
            Bootstrap = bootstrap,
            Listeners = listeners,
            Clusters = clusters,
            AdminAddress = adminAddress,
        };
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
