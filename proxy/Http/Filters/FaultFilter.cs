using Herald.Proxy.Http.Routing;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Http.Filters;

/// <summary>
/// Envoy's <c>envoy.filters.http.fault</c>: delays (on the TimeProvider, cancelled when the
/// client goes away) and aborts requests, per the most specific config (route, virtual host,
/// filter). A fault counts as active while the filter holds the request.
/// </summary>
internal sealed class FaultFilter : HttpFilter
{
    private readonly FaultSettings _settings;
    private readonly FaultStats _stats;
    private readonly Random _random;
    private long _active;

    public FaultFilter(FaultSettings settings, StatsStore stats, string hcmStatPrefix, Random? random = null)
    {
        _settings = settings;
        _stats = new FaultStats(stats, hcmStatPrefix);
        _random = random ?? Random.Shared;
    }

    public override string Name => FaultSettings.FilterName;

    public FaultSettings Settings => _settings;

    public FaultStats Stats => _stats;

    public override ValueTask<FilterReply?> OnRequestAsync(IRequestHead request, Route? route, TimeProvider time, CancellationToken aborted)
    {
        var settings = route?.FilterOverrides?.Fault
            ?? route?.VirtualHost.FilterOverrides?.Fault
            ?? _settings;
        if ((!settings.HasDelay && !settings.HasAbort) || !settings.Matches(request))
        {
            return default;
        }

        var delay = settings.DelayFor(request, _random);
        var abort = settings.AbortFor(request, _random);
        if (delay <= TimeSpan.Zero && abort is null)
        {
            return default;
        }

        if (!TryBeginFault(settings))
        {
            _stats.FaultsOverflow.Increment();
            return default;
        }

        if (delay <= TimeSpan.Zero)
        {
            _stats.AbortsInjected.Increment();
            EndFault();
            return new ValueTask<FilterReply?>(abort);
        }

        _stats.DelaysInjected.Increment();
        return DelayAsync(delay, abort, time, aborted);
    }

    private async ValueTask<FilterReply?> DelayAsync(TimeSpan delay, FilterReply? abort, TimeProvider time, CancellationToken aborted)
    {
        try
        {
            await Task.Delay(delay, time, aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            EndFault();
            return FilterReply.ClientGone;
        }

        if (abort is not null)
        {
            _stats.AbortsInjected.Increment();
        }

        EndFault();
        return abort;
    }

    private bool TryBeginFault(FaultSettings settings)
    {
        var active = Interlocked.Increment(ref _active);
        if (settings.MaxActiveFaults is { } max && active > max)
        {
            Interlocked.Decrement(ref _active);
            return false;
        }

        _stats.ActiveFaults.Increment();
        return true;
    }

    private void EndFault()
    {
        Interlocked.Decrement(ref _active);
        _stats.ActiveFaults.Decrement();
    }
}
