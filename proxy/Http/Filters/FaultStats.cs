using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Http.Filters;

/// <summary>Envoy's <c>http.PREFIX.fault.*</c> stats of one fault filter.</summary>
internal sealed class FaultStats
{
    public FaultStats(StatsStore store, string hcmStatPrefix)
    {
        StatKey Key(string stat) => StatKey.Http(hcmStatPrefix, "fault." + stat) with { PrometheusName = "envoy_http_fault_" + stat };
        DelaysInjected = store.Counter(Key("delays_injected"));
        AbortsInjected = store.Counter(Key("aborts_injected"));
        FaultsOverflow = store.Counter(Key("faults_overflow"));
        ActiveFaults = store.Gauge(Key("active_faults"));
    }

    public Counter DelaysInjected { get; }

    public Counter AbortsInjected { get; }

    /// <summary>Faults not injected because max_active_faults was reached.</summary>
    public Counter FaultsOverflow { get; }

    public Gauge ActiveFaults { get; }
}
