namespace Herald.Proxy.Activation;

/// <summary>Where an <see cref="ActivationGate"/> stands; see the gate's transition table.</summary>
internal enum ActivationState
{
    /// <summary>Nobody is held.</summary>
    Idle,

    /// <summary>Requests are held and the cluster has no endpoint (cold: demand was signalled).</summary>
    Holding,

    /// <summary>Requests are held and endpoints exist: every slot is taken, waiters go as slots free.</summary>
    Releasing,

    /// <summary>A hold timed out with no endpoint: requests are refused at once until one appears.</summary>
    Failfast,
}
