using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream.Health;

/// <summary>Envoy's <c>cluster.NAME.health_check.*</c> stats.</summary>
internal sealed class HealthCheckStats
{
    public HealthCheckStats(StatsStore store, string clusterName)
    {
        Counter Make(string stat) => store.Counter(StatKey.Cluster(clusterName, "health_check." + stat));

        Attempt = Make("attempt");
        Success = Make("success");
        Failure = Make("failure");
        NetworkFailure = Make("network_failure");
        Healthy = store.Gauge(StatKey.Cluster(clusterName, "health_check.healthy"));
    }

    public Counter Attempt { get; }

    public Counter Success { get; }

    /// <summary>Every failed check, network failures included.</summary>
    public Counter Failure { get; }

    public Counter NetworkFailure { get; }

    /// <summary>Hosts passing their checks now.</summary>
    public Gauge Healthy { get; }
}
