using Herald.Proxy.Config;
using EnvoyCluster = Envoy.Config.Cluster.V3.Cluster;

namespace Herald.Proxy.Upstream.Health;

/// <summary>Cluster-level rules for passive and active health checking.</summary>
internal static class HealthDefaults
{
    /// <summary>
    /// ORIGINAL_DST hosts are made per connection and never go through the load balancer, so
    /// there is nothing to eject or check: both are refused rather than silently ignored.
    /// </summary>
    public static void RefuseForOriginalDestination(EnvoyCluster cluster, string path)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        if (cluster.OutlierDetection is not null)
        {
            throw new ConfigException(FieldPolicy.Join(path, "outlier_detection"), "outlier_detection does not apply to ORIGINAL_DST clusters", "Remove outlier_detection");
        }

        if (cluster.HealthChecks.Count > 0)
        {
            throw new ConfigException(FieldPolicy.Join(path, "health_checks"), "health_checks do not apply to ORIGINAL_DST clusters", "Remove health_checks");
        }
    }
}
