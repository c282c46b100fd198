using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Upstream;

/// <summary>
/// A cluster's live circuit breakers: counters checked and taken in one atomic step, so an
/// overflowing request fails at once instead of queueing. Gauges follow Envoy's
/// <c>circuit_breakers.default.*_open</c> (1 while the resource is at its limit).
/// </summary>
internal sealed class CircuitBreakers
{
    private readonly Resource _connections;
    private readonly Resource _pending;
    private readonly Resource _requests;
    private readonly Resource _retries;

    public CircuitBreakers(CircuitBreakerThresholds thresholds, StatsStore store, string clusterName)
    {
        ArgumentNullException.ThrowIfNull(thresholds);
        ArgumentNullException.ThrowIfNull(store);
        Thresholds = thresholds;
        _connections = new Resource(store, clusterName, "cx", "cx", thresholds.TrackRemaining);
        _pending = new Resource(store, clusterName, "rq_pending", "pending", thresholds.TrackRemaining);
        _requests = new Resource(store, clusterName, "rq", "rq", thresholds.TrackRemaining);
        _retries = new Resource(store, clusterName, "rq_retry", "retries", thresholds.TrackRemaining);
        _connections.Publish(thresholds.MaxConnections);
        _pending.Publish(thresholds.MaxPendingRequests);
        _requests.Publish(thresholds.MaxRequests);
        _retries.Publish(RetryLimit());
    }

    public CircuitBreakerThresholds Thresholds { get; }

    public int PendingRequests => _pending.Count;

    public int ActiveRequests => _requests.Count;

    public int ActiveRetries => _retries.Count;

    /// <summary>
    /// Whether one more upstream connection may open, given how many are open now (the
    /// pools count them in upstream_cx_active, so this only compares and publishes).
    /// </summary>
    public bool AllowsNewConnection(long openConnections) => _connections.Check(openConnections, Thresholds.MaxConnections);

    public bool TryAcquirePending() => _pending.TryAcquire(Thresholds.MaxPendingRequests);

    public void ReleasePending() => _pending.Release(Thresholds.MaxPendingRequests);

    public bool TryAcquireRequest() => _requests.TryAcquire(Thresholds.MaxRequests);

    public void ReleaseRequest() => _requests.Release(Thresholds.MaxRequests);

    /// <summary>A retry may start only while the retries in flight stay under max_retries or the budget.</summary>
    public bool TryAcquireRetry() => _retries.TryAcquire(RetryLimit());

    public void ReleaseRetry() => _retries.Release(RetryLimit());

    /// <summary>
    /// max_retries, or with a retry budget: budget_percent of the active requests (pending ones
    /// are among them), never less than min_retry_concurrency.
    /// </summary>
    public int RetryLimit()
    {
        if (Thresholds.BudgetPercent is not { } percent)
        {
            return Thresholds.MaxRetries;
        }

        var budget = (int)(percent / 100.0 * _requests.Count);
        return Math.Max(budget, Thresholds.MinRetryConcurrency);
    }

    private sealed class Resource
    {
        private readonly Gauge _open;
        private readonly Gauge? _remaining;
        private int _count;

        public Resource(StatsStore store, string cluster, string openName, string remainingName, bool trackRemaining)
        {
            _open = store.Gauge(Key(cluster, openName + "_open"));
            _remaining = trackRemaining ? store.Gauge(Key(cluster, "remaining_" + remainingName)) : null;
        }

        public int Count => Volatile.Read(ref _count);

        public bool TryAcquire(int max)
        {
            var count = Interlocked.Increment(ref _count);
            if (count > max)
            {
                Interlocked.Decrement(ref _count);
                _open.Set(1);
                return false;
            }

            if (count == max)
            {
                _open.Set(1);
            }

            _remaining?.Set(max - count);
            return true;
        }

        public void Release(int max)
        {
            var count = Interlocked.Decrement(ref _count);
            if (count < max && _open.Value != 0)
            {
                _open.Set(0);
            }

            _remaining?.Set(Math.Max(0, max - count));
        }

        public bool Check(long open, int max)
        {
            var allowed = open < max;
            var full = !allowed || open + 1 >= max;
            if ((_open.Value != 0) != full)
            {
                _open.Set(full ? 1 : 0);
            }

            _remaining?.Set(Math.Max(0, max - open - (allowed ? 1 : 0)));
            return allowed;
        }

        public void Publish(int max) => _remaining?.Set(max);

        private static StatKey Key(string cluster, string stat) => new(
            $"cluster.{cluster}.circuit_breakers.default.{stat}",
            $"envoy_cluster_circuit_breakers_default_{stat}",
            [new("envoy_cluster_name", cluster)]);
    }
}
