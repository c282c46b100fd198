using Envoy.Config.Accesslog.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Tcp;
using Xunit;
using TcpProxyProto = Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy;

namespace Herald.Tests.Tcp;

public sealed class TcpProxyTranslatorTests
{
    private const string Path = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config";

    private readonly StatsStore _stats = new();

    [Fact]
    public void Translate_SingleCluster_DefaultsIdleTimeoutToOneHour()
    {
        var proto = new TcpProxyProto { StatPrefix = "db", Cluster = "postgres" };

        var config = TcpProxyTranslator.Translate(proto, Path, _stats);

        Assert.Equal("db", config.StatPrefix);
        Assert.Equal("postgres", config.Cluster);
        Assert.Equal(TimeSpan.FromHours(1), config.IdleTimeout);
        Assert.Empty(config.AccessLogs);
        Assert.Same(proto, config.Source);
        Assert.Equal("postgres", config.PickCluster(99));
        Assert.Contains(_stats.Counters, c => c.Key.FlatName == "tcp.db.downstream_cx_total");
    }

    [Fact]
    public void Translate_IdleTimeoutZero_Disables()
    {
        var proto = new TcpProxyProto { StatPrefix = "db", Cluster = "c", IdleTimeout = Duration.FromTimeSpan(TimeSpan.Zero) };

        Assert.Equal(TimeSpan.Zero, TcpProxyTranslator.Translate(proto, Path, _stats).IdleTimeout);
    }

    [Fact]
    public void Translate_IdleTimeoutSet_Kept()
    {
        var proto = new TcpProxyProto { StatPrefix = "db", Cluster = "c", IdleTimeout = new Duration { Seconds = 90, Nanos = 500_000_000 } };

        Assert.Equal(TimeSpan.FromSeconds(90.5), TcpProxyTranslator.Translate(proto, Path, _stats).IdleTimeout);
    }

    [Fact]
    public void Translate_NegativeIdleTimeout_Rejected()
    {
        var proto = new TcpProxyProto { StatPrefix = "db", Cluster = "c", IdleTimeout = new Duration { Seconds = -1 } };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".idle_timeout", error.FieldPath);
    }

    [Fact]
    public void Translate_WeightedClusters_KeptInOrder()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", WeightedClusters = Weighted(("a", 1), ("b", 3)) };

        var config = TcpProxyTranslator.Translate(proto, Path, _stats);

        Assert.Null(config.Cluster);
        Assert.Equal([("a", 1u), ("b", 3u)], config.WeightedClusters);
    }

    [Fact]
    public void Translate_NoCluster_RejectedNamingCluster()
    {
        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(new TcpProxyProto { StatPrefix = "p" }, Path, _stats));

        Assert.Equal(Path + ".cluster", error.FieldPath);
    }

    [Fact]
    public void Translate_EmptyStatPrefix_Rejected()
    {
        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(new TcpProxyProto { Cluster = "c" }, Path, _stats));

        Assert.Equal(Path + ".stat_prefix", error.FieldPath);
    }

    [Fact]
    public void Translate_UnsupportedField_RejectedNamingIt()
    {
        var proto = new TcpProxyProto
        {
            StatPrefix = "p",
            Cluster = "c",
            MaxDownstreamConnectionDuration = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
        };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".max_downstream_connection_duration", error.FieldPath);
    }

    [Fact]
    public void Translate_TunnelingConfig_Rejected()
    {
        var proto = new TcpProxyProto
        {
            StatPrefix = "p",
            Cluster = "c",
            TunnelingConfig = new TcpProxyProto.Types.TunnelingConfig { Hostname = "h:443" },
        };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".tunneling_config", error.FieldPath);
    }

    [Fact]
    public void Translate_MaxConnectAttemptsOne_Accepted()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", Cluster = "c", MaxConnectAttempts = 1 };

        Assert.Equal("c", TcpProxyTranslator.Translate(proto, Path, _stats).Cluster);
    }

    [Fact]
    public void Translate_MaxConnectAttemptsThree_Rejected()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", Cluster = "c", MaxConnectAttempts = 3 };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".max_connect_attempts", error.FieldPath);
    }

    [Fact]
    public void Translate_ZeroWeight_RejectedNamingTheEntry()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", WeightedClusters = Weighted(("a", 1), ("b", 0)) };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".weighted_clusters.clusters[1].weight", error.FieldPath);
    }

    [Fact]
    public void Translate_WeightedClusterMetadataMatch_Rejected()
    {
        var weighted = Weighted(("a", 1));
        weighted.Clusters[0].MetadataMatch = new Envoy.Config.Core.V3.Metadata();
        weighted.Clusters[0].MetadataMatch.FilterMetadata.Add("envoy.lb", new Struct());
        var proto = new TcpProxyProto { StatPrefix = "p", WeightedClusters = weighted };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".weighted_clusters.clusters[0].metadata_match", error.FieldPath);
    }

    [Fact]
    public void Translate_EmptyWeightedClusters_Rejected()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", WeightedClusters = new TcpProxyProto.Types.WeightedCluster() };

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".weighted_clusters.clusters", error.FieldPath);
    }

    [Fact]
    public void Translate_AccessLogWithoutFactory_RejectedNotDropped()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", Cluster = "c" };
        proto.AccessLog.Add(new AccessLog { Name = "envoy.access_loggers.stdout" });

        var error = Assert.Throws<ConfigException>(() => TcpProxyTranslator.Translate(proto, Path, _stats));

        Assert.Equal(Path + ".access_log[0]", error.FieldPath);
    }

    [Fact]
    public void Translate_AccessLogWithFactory_BuildsOneSinkPerEntry()
    {
        var proto = new TcpProxyProto { StatPrefix = "p", Cluster = "c" };
        proto.AccessLog.Add(new AccessLog { Name = "one" });
        proto.AccessLog.Add(new AccessLog { Name = "two" });
        var paths = new List<string>();

        var config = TcpProxyTranslator.Translate(proto, Path, _stats, (log, path) =>
        {
            paths.Add(path);
            return new NullSink();
        });

        Assert.Equal(2, config.AccessLogs.Count);
        Assert.Equal([Path + ".access_log[0]", Path + ".access_log[1]"], paths);
    }

    private static TcpProxyProto.Types.WeightedCluster Weighted(params (string Name, uint Weight)[] clusters)
    {
        var weighted = new TcpProxyProto.Types.WeightedCluster();
        foreach (var (name, weight) in clusters)
        {
            weighted.Clusters.Add(new TcpProxyProto.Types.WeightedCluster.Types.ClusterWeight { Name = name, Weight = weight });
        }

        return weighted;
    }

    private sealed class NullSink : IAccessLogSink
    {
        public void Log(AccessLogEntry entry)
        {
        }
    }
}
