namespace Herald.Proxy.Activation;

/// <summary>
/// How the forwarding paths wait at a cluster's activation gate: until admitted, the client
/// goes away, or the route's timeout ends the wait first (a 504, as Envoy's route timeout).
/// </summary>
internal static class ActivationWait
{
    public static async ValueTask<ActivationWaitResult> AcquireAsync(ActivationGate gate, TimeSpan routeTimeout, TimeProvider time, CancellationToken clientGone)
    {
        if (routeTimeout <= TimeSpan.Zero || routeTimeout >= Tcp.TcpProxyHandler.MaxTimerDue)
        {
            return await AcquireCoreAsync(gate, null, clientGone).ConfigureAwait(false);
        }

        using var timeout = new CancellationTokenSource(routeTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, clientGone);
        return await AcquireCoreAsync(gate, timeout, linked.Token).ConfigureAwait(false);
    }

    private static async ValueTask<ActivationWaitResult> AcquireCoreAsync(ActivationGate gate, CancellationTokenSource? routeTimeout, CancellationToken cancellationToken)
    {
        ActivationLease lease;
        try
        {
            lease = await gate.AcquireAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return new ActivationWaitResult(default, ActivationOutcome.Cancelled, routeTimeout?.IsCancellationRequested == true);
        }

        if (lease.Outcome == ActivationOutcome.Admitted)
        {
            return new ActivationWaitResult(lease, ActivationOutcome.Admitted, RouteTimedOut: false);
        }

        lease.Dispose();
        return new ActivationWaitResult(default, lease.Outcome, routeTimeout?.IsCancellationRequested == true);
    }
}

/// <summary>The gate's answer; <see cref="Lease"/> is only meaningful when admitted, and must then be disposed when the request ends.</summary>
internal readonly record struct ActivationWaitResult(ActivationLease Lease, ActivationOutcome Outcome, bool RouteTimedOut)
{
    public bool Admitted => Outcome == ActivationOutcome.Admitted;
}
