using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Activation;

/// <summary>A cluster's activation stats (<c>cluster.NAME.activation.*</c>), created once per cluster.</summary>
internal sealed class ActivationStats
{
    public ActivationStats(StatsStore store, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(clusterName);
        Counter Make(string stat) => store.Counter(StatKey.Cluster(clusterName, stat));

        Held = store.Gauge(StatKey.Cluster(clusterName, "activation.held"));
        Released = Make("activation.released");
        Overflow = Make("activation.overflow");
        Timeout = Make("activation.timeout");
        Failfast = Make("activation.failfast");
        HoldTime = store.Histogram(StatKey.Cluster(clusterName, "activation.hold_time"));
        Demand = Make("activation.demand");
        DemandSent = Make("activation.demand_sent");
        DemandFailed = Make("activation.demand_failed");
        DemandCoalesced = Make("activation.demand_coalesced");
    }

    /// <summary>Requests held right now.</summary>
    public Gauge Held { get; }

    /// <summary>Requests admitted after being held.</summary>
    public Counter Released { get; }

    /// <summary>Requests refused because the hold queue was full.</summary>
    public Counter Overflow { get; }

    /// <summary>Requests held for the whole hold timeout.</summary>
    public Counter Timeout { get; }

    /// <summary>Requests refused at once because the cluster was failing fast (or its gate was gone).</summary>
    public Counter Failfast { get; }

    /// <summary>Wait of each request admitted after being held, and of each timeout (ms): the cold-start metric.</summary>
    public Histogram HoldTime { get; }

    /// <summary>Demand notices raised by the gate.</summary>
    public Counter Demand { get; }

    /// <summary>Demand POSTs answered with a 2xx.</summary>
    public Counter DemandSent { get; }

    /// <summary>Demand POSTs that failed (refused, timed out, non-2xx).</summary>
    public Counter DemandFailed { get; }

    /// <summary>Demand notices folded into a later POST because one was in flight to the same URL.</summary>
    public Counter DemandCoalesced { get; }
}
