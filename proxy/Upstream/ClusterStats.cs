using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream;

/// <summary>Envoy's per-cluster stats (<c>cluster.NAME.*</c>), created once per cluster.</summary>
internal sealed class ClusterStats
{
    private readonly Counter[] _rqByClass = new Counter[6];

    public ClusterStats(StatsStore store, string clusterName)
    {
        Counter Make(string stat) => store.Counter(StatKey.Cluster(clusterName, stat));
        Gauge MakeGauge(string stat) => store.Gauge(StatKey.Cluster(clusterName, stat));

        UpstreamRqTotal = Make("upstream_rq_total");
        UpstreamRqCompleted = Make("upstream_rq_completed");
        UpstreamRqActive = MakeGauge("upstream_rq_active");
        UpstreamRqTimeout = Make("upstream_rq_timeout");
        UpstreamRqPerTryTimeout = Make("upstream_rq_per_try_timeout");
        UpstreamRqPendingTotal = Make("upstream_rq_pending_total");
        UpstreamRqPendingOverflow = Make("upstream_rq_pending_overflow");
        UpstreamRqRetry = Make("upstream_rq_retry");
        UpstreamRqRetrySuccess = Make("upstream_rq_retry_success");
        UpstreamRqRetryOverflow = Make("upstream_rq_retry_overflow");
        UpstreamRqRetryLimitExceeded = Make("upstream_rq_retry_limit_exceeded");
        UpstreamCxOverflow = Make("upstream_cx_overflow");
        UpstreamRqRxReset = Make("upstream_rq_rx_reset");
        UpstreamRqTxReset = Make("upstream_rq_tx_reset");
        UpstreamCxTotal = Make("upstream_cx_total");
        UpstreamCxActive = MakeGauge("upstream_cx_active");
        UpstreamCxConnectFail = Make("upstream_cx_connect_fail");
        UpstreamCxConnectTimeout = Make("upstream_cx_connect_timeout");
        UpstreamCxDestroy = Make("upstream_cx_destroy");
        UpstreamCxRxBytesTotal = Make("upstream_cx_rx_bytes_total");
        UpstreamCxTxBytesTotal = Make("upstream_cx_tx_bytes_total");
        UpstreamCxNoneHealthy = Make("upstream_cx_none_healthy");
        MembershipTotal = MakeGauge("membership_total");
        MembershipHealthy = MakeGauge("membership_healthy");
        UpstreamRqTime = store.Histogram(StatKey.Cluster(clusterName, "upstream_rq_time"));
        var scope = StatKey.Cluster(clusterName, "upstream_rq");
        for (var codeClass = 1; codeClass <= 5; codeClass++)
        {
            _rqByClass[codeClass] = store.Counter(StatKey.CodeClass(scope, "upstream_rq", codeClass));
        }
    }

    public Counter UpstreamRqTotal { get; }

    public Counter UpstreamRqCompleted { get; }

    public Gauge UpstreamRqActive { get; }

    public Counter UpstreamRqTimeout { get; }

    public Counter UpstreamRqPerTryTimeout { get; }

    public Counter UpstreamRqPendingTotal { get; }

    public Counter UpstreamRqPendingOverflow { get; }

    public Counter UpstreamRqRetry { get; }

    public Counter UpstreamRqRetrySuccess { get; }

    /// <summary>Retries not made because of max_retries or the retry budget.</summary>
    public Counter UpstreamRqRetryOverflow { get; }

    /// <summary>Requests still failing when num_retries was used up.</summary>
    public Counter UpstreamRqRetryLimitExceeded { get; }

    public Counter UpstreamCxOverflow { get; }

    public Counter UpstreamRqRxReset { get; }

    public Counter UpstreamRqTxReset { get; }

    public Counter UpstreamCxTotal { get; }

    public Gauge UpstreamCxActive { get; }

    public Counter UpstreamCxConnectFail { get; }

    public Counter UpstreamCxConnectTimeout { get; }

    public Counter UpstreamCxDestroy { get; }

    public Counter UpstreamCxRxBytesTotal { get; }

    public Counter UpstreamCxTxBytesTotal { get; }

    public Counter UpstreamCxNoneHealthy { get; }

    public Gauge MembershipTotal { get; }

    public Gauge MembershipHealthy { get; }

    public Histogram UpstreamRqTime { get; }

    /// <summary>Counts a response by its status code class (upstream_rq_2xx and so on).</summary>
    public void RecordResponseCode(int statusCode)
    {
        var codeClass = statusCode / 100;
        if (codeClass is >= 1 and <= 5)
        {
            _rqByClass[codeClass].Increment();
        }
    }
}
