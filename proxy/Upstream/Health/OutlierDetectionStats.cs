using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream.Health;

/// <summary>Envoy's <c>cluster.NAME.outlier_detection.*</c> stats.</summary>
internal sealed class OutlierDetectionStats
{
    public OutlierDetectionStats(StatsStore store, string clusterName)
    {
        Counter Make(string stat) => store.Counter(StatKey.Cluster(clusterName, "outlier_detection." + stat));

        EjectionsEnforcedTotal = Make("ejections_enforced_total");
        EjectionsActive = store.Gauge(StatKey.Cluster(clusterName, "outlier_detection.ejections_active"));
        EjectionsOverflow = Make("ejections_overflow");
        EjectionsEnforcedConsecutive5xx = Make("ejections_enforced_consecutive_5xx");
        EjectionsDetectedConsecutive5xx = Make("ejections_detected_consecutive_5xx");
        EjectionsEnforcedConsecutiveGatewayFailure = Make("ejections_enforced_consecutive_gateway_failure");
        EjectionsDetectedConsecutiveGatewayFailure = Make("ejections_detected_consecutive_gateway_failure");
        EjectionsEnforcedSuccessRate = Make("ejections_enforced_success_rate");
        EjectionsDetectedSuccessRate = Make("ejections_detected_success_rate");
    }

    public Counter EjectionsEnforcedTotal { get; }

    public Gauge EjectionsActive { get; }

    public Counter EjectionsOverflow { get; }

    public Counter EjectionsEnforcedConsecutive5xx { get; }

    public Counter EjectionsDetectedConsecutive5xx { get; }

    public Counter EjectionsEnforcedConsecutiveGatewayFailure { get; }

    public Counter EjectionsDetectedConsecutiveGatewayFailure { get; }

    public Counter EjectionsEnforcedSuccessRate { get; }

    public Counter EjectionsDetectedSuccessRate { get; }
}
