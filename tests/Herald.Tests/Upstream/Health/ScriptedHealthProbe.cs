using System.Collections.Concurrent;
using Herald.Proxy.Upstream;
using Herald.Proxy.Upstream.Health;

namespace Herald.Tests.Upstream.Health;

/// <summary>
/// A health check whose answer per host the test sets; completes synchronously, or never
/// (until the timeout cancels it) for hosts set to hang.
/// </summary>
internal sealed class ScriptedHealthProbe : IHealthProbe
{
    private readonly ConcurrentDictionary<string, HealthCheckOutcome?> _answers = new();

    public HealthCheckOutcome Default { get; set; } = HealthCheckOutcome.Healthy;

    public int Checks { get; private set; }

    public bool Disposed { get; private set; }

    /// <summary>Sets a host's answer; null makes its checks hang until cancelled.</summary>
    public void Set(string address, HealthCheckOutcome? outcome) => _answers[address] = outcome;

    public Task<HealthCheckOutcome> CheckAsync(UpstreamEndpoint endpoint, CancellationToken cancellationToken)
    {
        Checks++;
        var answer = _answers.TryGetValue(endpoint.AddressText, out var set) ? set : Default;
        if (answer is { } outcome)
        {
            return Task.FromResult(outcome);
        }

        var pending = new TaskCompletionSource<HealthCheckOutcome>();
        cancellationToken.Register(() => pending.TrySetCanceled(cancellationToken));
        return pending.Task;
    }

    public void Dispose() => Disposed = true;
}
