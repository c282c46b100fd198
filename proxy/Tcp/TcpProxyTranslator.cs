using Envoy.Config.Accesslog.V3;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using TcpProxyProto = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace Herald.Proxy.Tcp;

/// <summary>Translates <c>envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy</c>.</summary>
internal static class TcpProxyTranslator
{
    public static TcpProxyConfig Translate(TcpProxyProto config, string path, StatsStore stats) =>
        Translate(config, path, stats, accessLogFactory: null);

    /// <param name="accessLogFactory">Builds a sink from an access_log entry and its path; without
    /// one, a configured access_log is an error rather than silently dropped.</param>
    public static TcpProxyConfig Translate(
        TcpProxyProto config,
        string path,
        StatsStore stats,
        Func<AccessLog, string, IAccessLogSink>? accessLogFactory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stats);
        FieldPolicy.RequireOnly(
            config, path, "stat_prefix", "cluster", "weighted_clusters", "idle_timeout", "access_log", "max_connect_attempts");

        if (config.StatPrefix.Length == 0)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "stat_prefix"), "stat_prefix is required", "Set stat_prefix, for example to the listener's name");
        }

        string? cluster = null;
        var weighted = new List<(string Name, uint Weight)>();
        switch (config.ClusterSpecifierCase)
        {
            case TcpProxyProto.ClusterSpecifierOneofCase.Cluster:
                if (config.Cluster.Length == 0)
                {
                    throw new ConfigException(
                        FieldPolicy.Join(path, "cluster"), "cluster must not be empty", "Name the upstream cluster");
                }

                cluster = config.Cluster;
                break;
            case TcpProxyProto.ClusterSpecifierOneofCase.WeightedClusters:
                TranslateWeighted(config.WeightedClusters, FieldPolicy.Join(path, "weighted_clusters"), weighted);
                break;
            default:
                throw new ConfigException(
                    FieldPolicy.Join(path, "cluster"),
                    "one of cluster or weighted_clusters is required",
                    "Set cluster to the upstream cluster's name");
        }

        var idleTimeout = TcpProxyConfig.DefaultIdleTimeout;
        if (config.IdleTimeout is not null)
        {
            var idlePath = FieldPolicy.Join(path, "idle_timeout");
            var duration = config.IdleTimeout;
            if (duration.Seconds < 0 || duration.Nanos < 0 || duration.Nanos >= 1_000_000_000)
            {
                throw new ConfigException(idlePath, "idle_timeout must be a non-negative duration", "Use for example 3600s, or 0s to disable it");
            }

            idleTimeout = duration.ToTimeSpan();
        }

        if (config.MaxConnectAttempts is { } attempts && attempts != 1)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "max_connect_attempts"),
                $"max_connect_attempts {attempts} is not supported (Herald makes one connection attempt)",
                "Remove max_connect_attempts or set it to 1");
        }

        var sinks = new List<IAccessLogSink>(config.AccessLog.Count);
        for (var i = 0; i < config.AccessLog.Count; i++)
        {
            var logPath = FieldPolicy.Index(path, "access_log", i);
            if (accessLogFactory is null)
            {
                throw new ConfigException(
                    logPath, "access logs are not available for the TCP proxy here", "Remove access_log from this tcp_proxy");
            }

            sinks.Add(accessLogFactory(config.AccessLog[i], logPath));
        }

        return new TcpProxyConfig
        {
            StatPrefix = config.StatPrefix,
            Cluster = cluster,
            WeightedClusters = weighted,
            IdleTimeout = idleTimeout,
            AccessLogs = sinks,
            Source = config,
            Stats = new TcpProxyStats(stats, config.StatPrefix),
        };
    }

    private static void TranslateWeighted(
        TcpProxyProto.Types.WeightedCluster weightedClusters, string path, List<(string Name, uint Weight)> result)
    {
        FieldPolicy.RequireOnly(weightedClusters, path, "clusters");
        if (weightedClusters.Clusters.Count == 0)
        {
            throw new ConfigException(
                FieldPolicy.Join(path, "clusters"), "weighted_clusters needs at least one cluster", "Add clusters with a name and a weight");
        }

        for (var i = 0; i < weightedClusters.Clusters.Count; i++)
        {
            var entry = weightedClusters.Clusters[i];
            var entryPath = FieldPolicy.Index(path, "clusters", i);
            FieldPolicy.RequireOnly(entry, entryPath, "name", "weight");
            if (entry.Name.Length == 0)
            {
                throw new ConfigException(FieldPolicy.Join(entryPath, "name"), "name must not be empty", "Name the upstream cluster");
            }

            if (entry.Weight == 0)
            {
                throw new ConfigException(FieldPolicy.Join(entryPath, "weight"), "weight must be at least 1", "Give the cluster a weight of 1 or more");
            }

            result.Add((entry.Name, entry.Weight));
        }
    }
}
