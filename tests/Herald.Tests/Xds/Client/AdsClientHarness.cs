using System.Threading.Channels;
using Envoy.Config.Core.V3;
using Herald.Tests.TestSupport;
using Herald.Xds;
using Herald.Xds.Client;

namespace Herald.Tests.Xds.Client;

/// <summary>An ADS client wired to a scripted server, a recording data plane and virtual time.</summary>
internal sealed class AdsClientHarness : IAsyncDisposable
{
    public AdsClientHarness(AdsMode mode = AdsMode.StateOfTheWorld, double jitter = 0.5)
    {
        Client = new AdsClient(
            new AdsClientOptions
            {
                Node = Node,
                Mode = mode,
                ConnectStateOfTheWorld = Server.ConnectSotwAsync,
                ConnectDelta = Server.ConnectDeltaAsync,
                Random = new FixedRandom(jitter),
            },
            Target,
            Time);
        Client.ReconnectScheduled += delay => Reconnects.Writer.TryWrite(delay);
        Client.ConnectedChanged += connected => Connection.Writer.TryWrite(connected);
        Client.StreamLost += (reason, retryIn) => Losses.Writer.TryWrite((reason, retryIn));
        Client.ConfigRejected += (typeUrl, nack) => Rejections.Writer.TryWrite((typeUrl, nack));
    }

    public static Node Node { get; } = new() { Id = "sidecar-1", Cluster = "reviews" };

    public ScriptedAdsServer Server { get; } = new();

    public RecordingConfigTarget Target { get; } = new();

    public ManualTimeProvider Time { get; } = new();

    public AdsClient Client { get; }

    public Channel<TimeSpan> Reconnects { get; } = Channel.CreateUnbounded<TimeSpan>();

    public Channel<bool> Connection { get; } = Channel.CreateUnbounded<bool>();

    public Channel<(string Reason, TimeSpan RetryIn)> Losses { get; } = Channel.CreateUnbounded<(string, TimeSpan)>();

    public Channel<(string TypeUrl, XdsNack Nack)> Rejections { get; } = Channel.CreateUnbounded<(string, XdsNack)>();

    /// <summary>Starts the client and consumes the wildcard CDS and LDS requests of the first stream.</summary>
    public async Task<ScriptedAdsServer.SotwStream> StartSotwAsync()
    {
        await Client.StartAsync(CancellationToken.None);
        var stream = await Server.NextSotwStreamAsync();
        await stream.ExpectAsync(XdsTypeUrls.Cluster, "", "", []);
        await stream.ExpectAsync(XdsTypeUrls.Listener, "", "", []);
        return stream;
    }

    public async Task<TimeSpan> NextReconnectDelayAsync() => await Reconnects.Reader.ReadAsync().AsTask().WaitAsync(ScriptedAdsServer.Patience);

    public async Task<bool> NextConnectionChangeAsync() => await Connection.Reader.ReadAsync().AsTask().WaitAsync(ScriptedAdsServer.Patience);

    public async Task<(string Reason, TimeSpan RetryIn)> NextLossAsync() => await Losses.Reader.ReadAsync().AsTask().WaitAsync(ScriptedAdsServer.Patience);

    public async Task<(string TypeUrl, XdsNack Nack)> NextRejectionAsync() => await Rejections.Reader.ReadAsync().AsTask().WaitAsync(ScriptedAdsServer.Patience);

    public ValueTask DisposeAsync() => Client.DisposeAsync();

    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;

        protected override double Sample() => value;
    }
}
