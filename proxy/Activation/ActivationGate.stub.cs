#pragma warning disable CA1822
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Activation;

// Stand-ins until the activation gate lands; removed on merge.
internal enum ActivationState
{
    Idle,
    Holding,
    Releasing,
    Failfast,
}

internal enum ActivationOutcome
{
    Admitted,
    Overflow,
    Timeout,
    Failfast,
    Cancelled,
}

internal sealed record DemandNotice(string Cluster, int Held, TimeSpan OldestWait, DateTimeOffset At);

internal interface IDemandSignal
{
    void Signal(DemandNotice notice);
}

internal sealed class HttpDemandSignal : IDemandSignal
{
    public HttpDemandSignal(ActivationPolicy policy, TimeProvider time)
    {
        _ = policy;
        _ = time;
    }

    public void Signal(DemandNotice notice)
    {
    }
}

internal sealed class ActivationStats
{
    public ActivationStats(StatsStore store, string clusterName)
    {
        _ = store;
        _ = clusterName;
    }
}

internal readonly struct ActivationLease : IDisposable
{
    public ActivationOutcome Outcome { get; }

    public void Dispose()
    {
    }
}

internal sealed class ActivationGate : IDisposable
{
    public ActivationGate(string clusterName, ActivationPolicy policy, ActivationStats stats, IDemandSignal signal, TimeProvider time)
    {
        _ = (clusterName, policy, stats, signal, time);
    }

    public ActivationState State => ActivationState.Idle;

    public int Held => 0;

    public void SetEndpointCount(int endpoints)
    {
    }

    public ValueTask<ActivationLease> AcquireAsync(CancellationToken cancellationToken) => ValueTask.FromResult(default(ActivationLease));

    public static string Reason(ActivationOutcome outcome) => outcome.ToString();

    public void Dispose()
    {
    }
}
