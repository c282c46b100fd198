using Herald.Proxy.Config;
using EnvoyCluster = Envoy.Config.Cluster.V3;

namespace Herald.Proxy.Upstream;

/// <summary>A cluster's <c>circuit_breakers</c> to <see cref="CircuitBreakerThresholds"/> (priority DEFAULT only).</summary>
internal static class CircuitBreakersTranslator
{
    public static CircuitBreakerThresholds Translate(EnvoyCluster.CircuitBreakers? config, string path)
    {
        if (config is null)
        {
            return CircuitBreakerThresholds.Default;
        }

        FieldPolicy.RequireOnly(config, path, "thresholds");
        CircuitBreakerThresholds? result = null;
        for (var i = 0; i < config.Thresholds.Count; i++)
        {
            var entry = config.Thresholds[i];
            var entryPath = FieldPolicy.Index(path, "thresholds", i);
            FieldPolicy.RequireOnly(
                entry, entryPath, "priority", "max_connections", "max_pending_requests", "max_requests", "max_retries",
                "retry_budget", "track_remaining");
            if (entry.Priority != Envoy.Config.Core.V3.RoutingPriority.Default)
            {
                throw new ConfigException(
                    FieldPolicy.Join(entryPath, "priority"),
                    $"priority {entry.Priority} is not supported; Herald routes everything at DEFAULT priority",
                    "Remove this entry, or set priority: DEFAULT");
            }

            if (result is not null)
            {
                throw new ConfigException(entryPath, "a second thresholds entry for priority DEFAULT", "Keep one entry per priority");
            }

            double? budgetPercent = null;
            var minRetryConcurrency = CircuitBreakerThresholds.DefaultMinRetryConcurrency;
            if (entry.RetryBudget is { } budget)
            {
                var budgetPath = FieldPolicy.Join(entryPath, "retry_budget");
                FieldPolicy.RequireOnly(budget, budgetPath, "budget_percent", "min_retry_concurrency");
                budgetPercent = CircuitBreakerThresholds.DefaultBudgetPercent;
                if (budget.BudgetPercent is { } percent)
                {
                    if (double.IsNaN(percent.Value) || percent.Value < 0 || percent.Value > 100)
                    {
                        throw new ConfigException(
                            FieldPolicy.Join(budgetPath, "budget_percent"),
                            $"{percent.Value} is not a percentage",
                            "Use a value from 0 to 100, for example {value: 20}");
                    }

                    budgetPercent = percent.Value;
                }

                if (budget.MinRetryConcurrency is { } minimum)
                {
                    minRetryConcurrency = Limit(minimum, FieldPolicy.Join(budgetPath, "min_retry_concurrency"));
                }
            }

            result = new CircuitBreakerThresholds
            {
                MaxConnections = entry.MaxConnections is { } cx ? Limit(cx, FieldPolicy.Join(entryPath, "max_connections")) : CircuitBreakerThresholds.DefaultMaxConnections,
                MaxPendingRequests = entry.MaxPendingRequests is { } pending ? Limit(pending, FieldPolicy.Join(entryPath, "max_pending_requests")) : CircuitBreakerThresholds.DefaultMaxPendingRequests,
                MaxRequests = entry.MaxRequests is { } rq ? Limit(rq, FieldPolicy.Join(entryPath, "max_requests")) : CircuitBreakerThresholds.DefaultMaxRequests,
                MaxRetries = entry.MaxRetries is { } retries ? Limit(retries, FieldPolicy.Join(entryPath, "max_retries")) : CircuitBreakerThresholds.DefaultMaxRetries,
                BudgetPercent = budgetPercent,
                MinRetryConcurrency = minRetryConcurrency,
                TrackRemaining = entry.TrackRemaining,
            };
        }

        return result ?? CircuitBreakerThresholds.Default;
    }

    private static int Limit(uint value, string path) =>
        value <= int.MaxValue
            ? (int)value
            : throw new ConfigException(path, $"{value} is larger than Herald's limit {int.MaxValue}", $"Use at most {int.MaxValue}");
}
