using Herald.Proxy.Listeners;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Herald.Xds.Client;

namespace Herald.Proxy.Config;

/// <summary>
/// The bootstrap's static resources plus what ADS delivered -> one validated
/// <see cref="ProxyConfig"/>. A problem in any resource refuses the whole set, with a
/// message naming the resource and its field.
/// </summary>
internal static class XdsTranslator
{
    public static ProxyConfig Translate(ProxyConfig staticConfig, XdsResources resources, StatsStore stats)
    {
        var clusters = new List<ClusterConfig>(staticConfig.Clusters);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var cluster in staticConfig.Clusters)
        {
            names.Add(cluster.Name);
        }

        foreach (var (name, cluster) in resources.Clusters.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            var path = $"Cluster '{name}'";
            var config = ClusterTranslator.Translate(cluster, path, resources.Endpoints.GetValueOrDefault);
            if (!names.Add(config.Name))
            {
                throw new ConfigException(FieldPolicy.Join(path, "name"), $"cluster '{config.Name}' is defined twice (static and dynamic)", "Rename one of them");
            }

            clusters.Add(config);
        }

        var listeners = new List<ListenerConfig>(staticConfig.Listeners);
        var listenerNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var listener in staticConfig.Listeners)
        {
            listenerNames.Add(listener.Name);
        }

        foreach (var (name, listener) in resources.Listeners.OrderBy(l => l.Key, StringComparer.Ordinal))
        {
            if (listener.ApiListener is not null)
            {
                // API listeners configure gRPC clients (proxyless xDS); a proxy has nothing to bind.
                continue;
            }

            var path = $"Listener '{name}'";
            var config = ListenerTranslator.Translate(listener, path, stats, resources.Routes.GetValueOrDefault, resources.Secrets.GetValueOrDefault);
            if (!listenerNames.Add(config.Name))
            {
                throw new ConfigException(FieldPolicy.Join(path, "name"), $"listener '{config.Name}' is defined twice (static and dynamic)", "Rename one of them");
            }

            listeners.Add(config);
        }

        return new ProxyConfig
        {
            Bootstrap = staticConfig.Bootstrap,
            Listeners = listeners,
            Clusters = clusters,
            AdminAddress = staticConfig.AdminAddress,
            Dynamic = resources,
            AdsConfig = staticConfig.AdsConfig,
        };
    }
}
