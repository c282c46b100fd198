using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Herald.Xds.Streams;

namespace Herald.Xds.Client;

/// <summary>How the ADS client identifies itself, reaches the server and paces itself.</summary>
public sealed class AdsClientOptions
{
    public required Node Node { get; init; }

    public AdsMode Mode { get; init; } = AdsMode.StateOfTheWorld;

    /// <summary>Opens a state-of-the-world ADS stream; required when <see cref="Mode"/> is StateOfTheWorld.</summary>
    public Func<CancellationToken, ValueTask<IMessageStream<DiscoveryResponse, DiscoveryRequest>>>? ConnectStateOfTheWorld { get; init; }

    /// <summary>Opens a delta ADS stream; required when <see cref="Mode"/> is Delta.</summary>
    public Func<CancellationToken, ValueTask<IMessageStream<DeltaDiscoveryResponse, DeltaDiscoveryRequest>>>? ConnectDelta { get; init; }

    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(0.5);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A requested resource that has not arrived after this long is treated as absent.</summary>
    public TimeSpan ResourceArrivalTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Source of backoff jitter; tests pass a predictable one.</summary>
    public Random? Random { get; init; }
}
