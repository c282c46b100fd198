namespace Herald.Proxy.Activation;

/// <summary>How <see cref="ActivationGate.AcquireAsync"/> ended for one request.</summary>
internal enum ActivationOutcome
{
    /// <summary>The request holds a slot: forward it, then dispose the lease.</summary>
    Admitted,

    /// <summary>The hold queue was full: answer 503.</summary>
    Overflow,

    /// <summary>The request was held for the whole hold timeout: answer 503.</summary>
    Timeout,

    /// <summary>The cluster is failing fast (or the gate was disposed): answer 503.</summary>
    Failfast,

    /// <summary>The caller's token fired first: the client is gone, just stop.</summary>
    Cancelled,
}
