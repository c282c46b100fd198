using Envoy.Service.Discovery.V3;
using Herald.Proxy.Observability.Stats;
using Herald.Xds;
using Herald.Xds.Client;
using Herald.Xds.Grpc;
using Herald.Xds.Streams;

namespace Herald.Proxy.Config;

/// <summary>
/// Runs the ADS client for a data plane: over gRPC to the bootstrap's control plane
/// cluster (its endpoints tried in turn on each reconnect), or over an in-memory stream
/// when the control plane lives in the same process.
/// </summary>
internal sealed class AdsConnector : IAsyncDisposable
{
    private readonly List<GrpcClient> _grpcClients = [];
    private readonly AdsClient _client;
    private readonly CancellationTokenSource _stop = new();
    private int _next;
    private string _current = "the control plane in this process";

    private AdsConnector(AdsClientOptions options, IXdsConfigTarget target, StatsStore stats, TimeProvider time)
    {
        _client = new AdsClient(options, target, time);
        var connected = stats.Gauge(StatKey.Global("control_plane.connected_state"));
        _client.ConnectedChanged += up => connected.Set(up ? 1 : 0);

        // What Envoy logs as warnings: without them a data plane that never turns ready says nothing of why.
        _client.StreamLost += (reason, retryIn) =>
            Console.Error.WriteLine($"herald: xDS stream to {Volatile.Read(ref _current)} ended ({reason}); reconnecting in {retryIn.TotalSeconds:0.0} s");
        _client.ConfigRejected += (typeUrl, nack) =>
            Console.Error.WriteLine($"herald: xDS update rejected: {typeUrl} version '{nack.RejectedVersion}': {nack.Message}");
    }

    public AdsClient Client => _client;

    /// <summary>ADS over gRPC to the endpoints of the static cluster the bootstrap names.</summary>
    public static AdsConnector ForGrpc(ProxyConfig config, IXdsConfigTarget target, StatsStore stats, TimeProvider time)
    {
        var settings = config.AdsConfig ?? throw new InvalidOperationException("the bootstrap has no ads_config");
        var cluster = config.Clusters.First(c => c.Name == settings.ClusterName);
        if (cluster.Endpoints.Length == 0)
        {
            throw new ConfigException($"static_resources.clusters['{cluster.Name}']", "the control plane's cluster has no endpoints", "Give it the control plane's address in load_assignment");
        }

        AdsConnector? connector = null;
        var options = new AdsClientOptions
        {
            Node = config.Bootstrap.Node ?? new Envoy.Config.Core.V3.Node(),
            Mode = settings.Delta ? AdsMode.Delta : AdsMode.StateOfTheWorld,
            ConnectStateOfTheWorld = _ => ValueTask.FromResult<IMessageStream<DiscoveryResponse, DiscoveryRequest>>(
                connector!.NextClient().StartStream<DiscoveryRequest, DiscoveryResponse>(XdsTypeUrls.StreamAggregatedResourcesPath, DiscoveryResponse.Parser)),
            ConnectDelta = _ => ValueTask.FromResult<IMessageStream<DeltaDiscoveryResponse, DeltaDiscoveryRequest>>(
                connector!.NextClient().StartStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(XdsTypeUrls.DeltaAggregatedResourcesPath, DeltaDiscoveryResponse.Parser)),
        };
        connector = new AdsConnector(options, target, stats, time);
        foreach (var endpoint in cluster.Endpoints)
        {
            var host = endpoint.Host.Contains(':', StringComparison.Ordinal) ? $"[{endpoint.Host}]" : endpoint.Host;
            connector._grpcClients.Add(new GrpcClient(new Uri($"http://{host}:{endpoint.Port}")));
        }

        return connector;
    }

    /// <summary>ADS over an in-memory stream to a control plane in this process.</summary>
    public static AdsConnector InProcess(
        Envoy.Config.Core.V3.Node node,
        Func<IMessageStream<DiscoveryRequest, DiscoveryResponse>, CancellationToken, Task> serve,
        IXdsConfigTarget target,
        StatsStore stats,
        TimeProvider time)
    {
        AdsConnector? connector = null;
        var options = new AdsClientOptions
        {
            Node = node,
            Mode = AdsMode.StateOfTheWorld,
            ConnectStateOfTheWorld = cancellationToken =>
            {
                var (clientEnd, serverEnd) = InMemoryStreams.CreatePair<DiscoveryRequest, DiscoveryResponse>();
                _ = serve(serverEnd, connector!._stop.Token);
                return ValueTask.FromResult(clientEnd);
            },
        };
        connector = new AdsConnector(options, target, stats, time);
        return connector;
    }

    public Task StartAsync() => _client.StartAsync(_stop.Token);

    private GrpcClient NextClient()
    {
        // The first connection goes to the first endpoint; each reconnect moves on to the next.
        var index = (int)((uint)(Interlocked.Increment(ref _next) - 1) % (uint)_grpcClients.Count);
        var client = _grpcClients[index];
        Volatile.Write(ref _current, $"{client.Address.Host}:{client.Address.Port}");
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _client.DisposeAsync().ConfigureAwait(false);
        foreach (var client in _grpcClients)
        {
            client.Dispose();
        }

        _stop.Dispose();
    }
}
