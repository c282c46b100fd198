namespace Herald.Proxy.Activation;

// Stand-in until the activation gate lands; removed on merge.
internal sealed class ActivationPolicy
{
    public TimeSpan HoldTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int QueueDepth { get; init; } = 10_000;

    public int EndpointConcurrency { get; init; }

    public Uri? Webhook { get; init; }

    public Uri? ControlPlane { get; init; }
}
