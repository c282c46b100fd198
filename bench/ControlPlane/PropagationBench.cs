using System.Diagnostics;
using System.Globalization;
using System.Net;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Herald.Xds;
using Herald.Xds.ControlPlane;
using Herald.Xds.Grpc;
using Herald.Xds.Streams;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// Part 2: an AdsServer with N connected SotW subscribers; one instance is registered and
/// the time until each stream receives the EDS response that contains it is recorded.
/// </summary>
internal static class PropagationBench
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    public static async Task RunAsync(BenchOptions options, Report report, bool grpc, bool scoped)
    {
        var mesh = BenchMesh.Create(options.Services, options.Streams, options.Deps);
        using var registry = new ServiceRegistry(TimeProvider.System);
        BenchMesh.Populate(registry, options.Services, options.Endpoints);
        using var ads = new AdsServer(() => mesh, registry, TimeProvider.System);
        using var stop = new CancellationTokenSource();

        GrpcServer? server = null;
        var clients = new List<GrpcClient>();
        var streams = new List<IMessageStream<DiscoveryResponse, DiscoveryRequest>>();
        var serving = new List<Task>();
        var running = new List<Task>();
        var subscribers = new List<Subscriber>();
        try
        {
            if (grpc)
            {
                var services = new GrpcServiceRegistry();
                MapAds(services, ads);
                server = await GrpcServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), services, stop.Token);
            }

            for (var i = 0; i < options.Streams; i++)
            {
                IMessageStream<DiscoveryResponse, DiscoveryRequest> stream;
                if (server is not null)
                {
                    // One client (one connection) per subscriber, as separate sidecars would have.
                    var client = new GrpcClient(
                        new Uri($"http://127.0.0.1:{server.BoundAddress.Port.ToString(CultureInfo.InvariantCulture)}/"),
                        new GrpcClientOptions { MaxReceiveMessageSize = 256 * 1024 * 1024 });
                    clients.Add(client);
                    stream = client.StartStream<DiscoveryRequest, DiscoveryResponse>(XdsTypeUrls.StreamAggregatedResourcesPath, DiscoveryResponse.Parser);
                }
                else
                {
                    var (clientEnd, serverEnd) = InMemoryStreams.CreatePair<DiscoveryRequest, DiscoveryResponse>();
                    serving.Add(Task.Run(() => ads.HandleStateOfTheWorldAsync(serverEnd, stop.Token)));
                    stream = clientEnd;
                }

                streams.Add(stream);
                var node = new Node
                {
                    Id = "bench-" + i.ToString(CultureInfo.InvariantCulture),
                    Cluster = scoped ? BenchMesh.ScopedWorkload(i) : BenchMesh.UnscopedWorkload,
                };
                var subscriber = new Subscriber(stream, node);
                subscribers.Add(subscriber);
                running.Add(Task.Run(() => subscriber.RunAsync(stop.Token)));
            }

            var connecting = Stopwatch.StartNew();
            await Task.WhenAll(subscribers.Select(s => s.FirstEndpoints)).WaitAsync(Deadline);
            connecting.Stop();
            await Task.Delay(options.PauseMs);

            var cpuStart = CpuClock.Ms();
            var perStream = new Samples();
            var slowest = new Samples();
            var cluster = SnapshotBuilder.OutboundCluster(BenchMesh.Port, null, BenchMesh.ChangedService);
            var labels = new Dictionary<string, string> { ["version"] = "v1", ["region"] = "r1", ["zone"] = "zone-a" };
            for (var c = 0; c < options.Changes; c++)
            {
                var address = BenchMesh.Address(11, c + 1);
                var waits = subscribers.Select(s => s.Expect(cluster, address)).ToArray();
                var start = Stopwatch.GetTimestamp();
                registry.Register(BenchMesh.ChangedService, address, BenchMesh.Port, labels, "1.0.0");
                var arrivals = await Task.WhenAll(waits).WaitAsync(Deadline);
                var last = start;
                foreach (var arrival in arrivals)
                {
                    perStream.AddElapsed(start, arrival);
                    last = Math.Max(last, arrival);
                }

                slowest.AddElapsed(start, last);
                await Task.Delay(options.PauseMs);
            }

            var cpuPerChange = (CpuClock.Ms() - cpuStart) / options.Changes;
            var rss = Report.Rss();
            var role = scoped
                ? new NodeRole(NodeKind.Sidecar, null, BenchMesh.ScopedWorkload(0), null)
                : new NodeRole(NodeKind.Sidecar, null, BenchMesh.UnscopedWorkload, null);
            var edsBytes = 0L;
            foreach (var resource in ads.SnapshotFor(role).Endpoints.Resources.Values)
            {
                edsBytes += resource.Packed.CalculateSize();
            }

            var transport = grpc ? "gRPC (h2c, 127.0.0.1)" : "in-memory";
            var scope = scoped
                ? $"{options.Streams} scoped sidecars ({options.Streams} workloads, {options.Deps} deps each)"
                : $"{options.Streams} unscoped sidecars of one workload";
            report.Add(
                $"2. endpoint change -> {options.Streams} streams, {transport}, {scope}: wall p50 / p99 per stream",
                $"{perStream.P50P99()} ms",
                $"CPU {Samples.Ms(cpuPerChange)} ms per change (bench process: server and all subscribers); {perStream.Count} samples ({options.Changes} changes x {options.Streams} streams); last stream per change p50 {Samples.Ms(slowest.Percentile(50))} ms, max {Samples.Ms(slowest.Max)} ms; "
                + $"includes the {AdsServer.Debounce.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms debounce; each EDS response {ads.SnapshotFor(role).Endpoints.Resources.Count} CLAs, {Report.Mb(edsBytes)}; "
                + $"initial sync of all streams {connecting.ElapsedMilliseconds} ms; bench process RSS {Report.Mb(rss)} (server + subscribers)");
        }
        finally
        {
            await stop.CancelAsync();
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }

            await WaitQuietly(running);
            await WaitQuietly(serving);
            foreach (var client in clients)
            {
                client.Dispose();
            }

            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }
    }

    /// <summary>The two MapDuplex calls of the control-plane command (proxy/Cli/ControlPlaneCommand.MapAds).</summary>
    private static void MapAds(GrpcServiceRegistry services, AdsServer ads)
    {
        services.MapDuplex<DiscoveryRequest, DiscoveryResponse>(
            XdsTypeUrls.StreamAggregatedResourcesPath,
            DiscoveryRequest.Parser,
            (stream, context) => ads.HandleStateOfTheWorldAsync(stream, context.CancellationToken));
        services.MapDuplex<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(
            XdsTypeUrls.DeltaAggregatedResourcesPath,
            DeltaDiscoveryRequest.Parser,
            (stream, context) => ads.HandleDeltaAsync(stream, context.CancellationToken));
    }

    private static async Task WaitQuietly(List<Task> tasks)
    {
        try
        {
            await Task.WhenAll(tasks).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or IOException or GrpcException or InvalidOperationException)
        {
        }
    }
}
