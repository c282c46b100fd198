namespace Herald.Proxy.Activation;

/// <summary>
/// A cluster's scale-from-zero policy, from its xDS metadata. Immutable once built;
/// <see cref="Validate"/> is what <see cref="ActivationGate"/> checks, so a translator can
/// reject a bad policy (NACK) before any gate exists.
/// </summary>
internal sealed class ActivationPolicy
{
    /// <summary>
    /// Longest hold accepted. Far above Knative's 600 s maximum; the bound keeps a timer's due
    /// time representable, so creating one on the request path cannot throw.
    /// </summary>
    public static readonly TimeSpan MaxHoldTimeout = TimeSpan.FromDays(1);

    /// <summary>How long one request may be held before it gets a 503.</summary>
    public TimeSpan HoldTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Held requests per cluster (Knative's activator: 10,000); beyond it, overflow.</summary>
    public int QueueDepth { get; init; } = 10_000;

    /// <summary>Most requests in flight per endpoint; 0 = unlimited.</summary>
    public int EndpointConcurrency { get; init; }

    /// <summary>POSTed a <see cref="DemandNotice"/> once per transition from zero.</summary>
    public Uri? Webhook { get; init; }

    /// <summary>Also POSTed (same body), so the control plane can act.</summary>
    public Uri? ControlPlane { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> for a value no gate can honour.</summary>
    public void Validate()
    {
        if (HoldTimeout <= TimeSpan.Zero || HoldTimeout > MaxHoldTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(HoldTimeout), HoldTimeout, $"activation hold timeout must be above zero and at most {MaxHoldTimeout}");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(QueueDepth, 1, nameof(QueueDepth));
        ArgumentOutOfRangeException.ThrowIfNegative(EndpointConcurrency, nameof(EndpointConcurrency));
        ValidateUrl(Webhook, nameof(Webhook));
        ValidateUrl(ControlPlane, nameof(ControlPlane));
    }

    private static void ValidateUrl(Uri? url, string name)
    {
        if (url is null)
        {
            return;
        }

        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"activation {name} must be an absolute http or https URL: {url}", name);
        }
    }
}
