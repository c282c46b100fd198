using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Admin;

/// <summary>What the admin endpoint reads from the running proxy; every member is read per request.</summary>
internal sealed class AdminContext
{
    public required StatsStore Stats { get; init; }

    /// <summary>True once the proxy serves its initial config: <c>/ready</c> answers LIVE.</summary>
    public required Func<bool> IsReady { get; init; }

    /// <summary>Envoy's server state for <c>/ready</c> and <c>/server_info</c>; null derives it from <see cref="IsReady"/>.</summary>
    public Func<ServerState>? State { get; init; }

    /// <summary><c>POST /healthcheck/fail</c> (true) and <c>/healthcheck/ok</c> (false); null makes them answer 501.</summary>
    public Action<bool>? SetHealthCheckFailed { get; init; }

    /// <summary>
    /// <c>POST /drain_listeners</c>: starts draining every listener (true: only inbound ones) and
    /// returns at once; null makes the endpoint answer 501.
    /// </summary>
    public Func<bool, Task>? DrainListeners { get; init; }

    public required Func<ConfigDumpView> ConfigDump { get; init; }

    public required Func<IReadOnlyList<ClusterView>> Clusters { get; init; }

    /// <summary>Called after <c>POST /quitquitquit</c> has been answered; null makes the endpoint answer 501.</summary>
    public Func<CancellationToken, Task>? OnQuitQuitQuit { get; init; }

    /// <summary>Process start, for <c>/server_info</c> uptime.</summary>
    public DateTimeOffset StartTime { get; init; } = DateTimeOffset.UtcNow;

    public TimeProvider Time { get; init; } = TimeProvider.System;
}
