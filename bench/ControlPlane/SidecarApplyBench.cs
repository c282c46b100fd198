using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds;
using Herald.Xds.Client;
using Herald.Xds.ControlPlane;
using Herald.Xds.Grpc;
using Herald.Xds.Streams;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// Part 3: the time from a control plane writing a large EDS update to the sidecar's ACK,
/// which a Herald sidecar sends only after applying it. Two sidecars: the public AdsClient
/// in this process with a public-only target, and the real <c>herald sidecar</c> as a child
/// process over gRPC.
/// </summary>
internal static class SidecarApplyBench
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var workloads = new List<Workload> { OneCluster(options.Endpoints), Mesh(options) };
        foreach (var workload in workloads)
        {
            await InProcessAsync(options, report, workload);
        }

        var herald = FindHerald(options.HeraldPath);
        foreach (var workload in workloads)
        {
            if (herald is null)
            {
                report.Add($"3. herald sidecar process, {workload.Label}", "not run", "no built herald executable found; build proxy in Release or pass --herald PATH");
                continue;
            }

            await ChildProcessAsync(options, report, workload, herald);
        }
    }

    private static async Task InProcessAsync(BenchOptions options, Report report, Workload workload)
    {
        using var stop = new CancellationTokenSource();
        var responder = new ScriptedResponder(workload.Clusters, workload.EndpointSets[0]);
        var target = new RecordingTarget();
        var (clientEnd, serverEnd) = InMemoryStreams.CreatePair<DiscoveryRequest, DiscoveryResponse>();
        var serving = Task.Run(() => responder.ServeAsync(serverEnd, stop.Token));
        var client = new AdsClient(
            new AdsClientOptions
            {
                Node = new Node { Id = "bench-sidecar", Cluster = "bench" },
                ConnectStateOfTheWorld = _ => ValueTask.FromResult(clientEnd),
            },
            target,
            TimeProvider.System);
        await using (client)
        {
            await client.StartAsync(stop.Token);
            await responder.Initial.WaitAsync(TimeSpan.FromMinutes(2));
            var total = new Samples();
            var apply = new Samples();
            var cpuStart = CpuClock.Ms();
            for (var u = 1; u <= options.Updates; u++)
            {
                var (sent, acked) = await responder.PushAsync(workload.EndpointSets[u % 2], stop.Token);
                total.AddElapsed(sent, acked);
                apply.Add(Stopwatch.GetElapsedTime(0, target.LastApplyTicks).TotalMilliseconds);
            }

            var cpuPerUpdate = (CpuClock.Ms() - cpuStart) / options.Updates;
            report.Add(
                $"3. AdsClient in process (public API), {workload.Label}: write -> ACK wall p50 / p99",
                $"{total.P50P99()} ms",
                $"CPU {Samples.Ms(cpuPerUpdate)} ms per update (bench process); {options.Updates} updates; in-memory stream (no serialization); covers AdsClient decode + SotW merge + state machine + a public-only target "
                + $"that turns each CLA into an endpoint list ({target.EndpointCount} endpoints; that step alone p50 / p99 {apply.P50P99()} ms). Not the proxy's clusters, LB or pools.");
            await stop.CancelAsync();
        }

        await serverEnd.DisposeAsync();
        await Quietly(serving);
    }

    private static async Task ChildProcessAsync(BenchOptions options, Report report, Workload workload, string herald)
    {
        using var stop = new CancellationTokenSource();
        var responder = new ScriptedResponder(workload.Clusters, workload.EndpointSets[0]);
        var services = new GrpcServiceRegistry { MaxReceiveMessageSize = 64 * 1024 * 1024 };
        services.MapDuplex<DiscoveryRequest, DiscoveryResponse>(
            XdsTypeUrls.StreamAggregatedResourcesPath,
            DiscoveryRequest.Parser,
            (stream, context) => responder.ServeAsync(stream, context.CancellationToken));
        await using var server = await GrpcServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), services, stop.Token);
        var start = new ProcessStartInfo(herald)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "sidecar", "--xds", $"127.0.0.1:{server.BoundAddress.Port.ToString(CultureInfo.InvariantCulture)}",
            "--node-id", "bench-sidecar", "--cluster", "bench", "--admin", $"127.0.0.1:{FreePort().ToString(CultureInfo.InvariantCulture)}",
        })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {herald}");
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var launched = Stopwatch.StartNew();
            try
            {
                await responder.Initial.WaitAsync(TimeSpan.FromMinutes(2));
            }
            catch (Exception e) when (e is TimeoutException or InvalidOperationException)
            {
                report.Add($"3. herald sidecar process, {workload.Label}", "failed", $"{e.Message}; herald said: {string.Join(" / ", output).Replace('|', '/')}");
                return;
            }

            launched.Stop();
            var total = new Samples();
            var pid = process.Id.ToString(CultureInfo.InvariantCulture);
            var cpuStart = CpuClock.Ms(pid);
            for (var u = 1; u <= options.Updates; u++)
            {
                var (sent, acked) = await responder.PushAsync(workload.EndpointSets[u % 2], stop.Token);
                total.AddElapsed(sent, acked);
            }

            var cpuPerUpdate = (CpuClock.Ms(pid) - cpuStart) / options.Updates;
            var rss = Report.Rss(pid);
            report.Add(
                $"3. herald sidecar process (real data plane), {workload.Label}: write -> ACK wall p50 / p99",
                $"{total.P50P99()} ms",
                $"herald CPU {Samples.Ms(cpuPerUpdate)} ms per update (child process, incl. GC); {options.Updates} updates over gRPC on 127.0.0.1; covers serialize + send, decode, XdsTranslator, ClusterManager apply, Cluster.UpdateEndpoints, ACK; "
                + $"first config applied {launched.ElapsedMilliseconds} ms after launch (incl. process start); sidecar RSS after {Report.Mb(rss)}");
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }

            await process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
        }
    }

    private static void Keep(System.Collections.Concurrent.ConcurrentQueue<string> output, string? line)
    {
        if (line is not null && output.Count < 20)
        {
            output.Enqueue(line);
        }
    }

    /// <summary>One EDS cluster holding all the endpoints; the update moves every endpoint to another port.</summary>
    private static Workload OneCluster(int endpoints)
    {
        const string name = "bench-big";
        var cluster = new Cluster
        {
            Name = name,
            Type = Cluster.Types.DiscoveryType.Eds,
            EdsClusterConfig = new Cluster.Types.EdsClusterConfig
            {
                ServiceName = name,
                EdsConfig = new ConfigSource { Ads = new AggregatedConfigSource(), ResourceApiVersion = ApiVersion.V3 },
            },
            ConnectTimeout = Duration.FromTimeSpan(TimeSpan.FromSeconds(5)),
            LbPolicy = Cluster.Types.LbPolicy.RoundRobin,
        };
        Any Assignment(int port)
        {
            var assignment = new ClusterLoadAssignment { ClusterName = name };
            var group = new LocalityLbEndpoints { Locality = new Locality { Region = "r1", Zone = "zone-a" } };
            for (var j = 0; j < endpoints; j++)
            {
                group.LbEndpoints.Add(new LbEndpoint
                {
                    Endpoint = new Envoy.Config.Endpoint.V3.Endpoint
                    {
                        Address = new Address { SocketAddress = new Envoy.Config.Core.V3.SocketAddress { Address = BenchMesh.Address(10, j + 1), PortValue = (uint)port } },
                    },
                });
            }

            assignment.Endpoints.Add(group);
            return Any.Pack(assignment);
        }

        var a = Assignment(8080);
        return new Workload(
            $"1 cluster x {endpoints} endpoints, every endpoint changes ({Report.Mb(a.CalculateSize())} EDS)",
            [Any.Pack(cluster)],
            [[a], [Assignment(8081)]]);
    }

    /// <summary>The unscoped sidecar's CDS and EDS from the generated mesh; the update adds one instance (SotW resends every CLA).</summary>
    private static Workload Mesh(BenchOptions options)
    {
        var mesh = BenchMesh.Create(options.Services, 0, options.Deps);
        using var registry = new ServiceRegistry(TimeProvider.System);
        BenchMesh.Populate(registry, options.Services, options.Endpoints);
        var role = new NodeRole(NodeKind.Sidecar, null, BenchMesh.UnscopedWorkload, null);
        var before = SnapshotBuilder.Build(mesh, registry.View(), role);
        registry.Register(BenchMesh.ChangedService, BenchMesh.Address(11, 1), BenchMesh.Port, new Dictionary<string, string> { ["version"] = "v1" }, "1.0.0");
        var after = SnapshotBuilder.Build(mesh, registry.View(), role);
        return new Workload(
            $"mesh: unscoped sidecar of {options.Services} services / {options.Endpoints} instances, one instance added "
            + $"({after.Clusters.Resources.Count} CDS + {after.Endpoints.Resources.Count} CLAs resent, {LbEndpoints(after)} lb_endpoints, {Report.Mb(after.Endpoints.Resources.Values.Sum(r => (long)r.Packed.CalculateSize()))} EDS; LDS empty)",
            [.. before.Clusters.Resources.Values.Select(r => r.Packed)],
            [[.. before.Endpoints.Resources.Values.Select(r => r.Packed)], [.. after.Endpoints.Resources.Values.Select(r => r.Packed)]]);
    }

    private static int LbEndpoints(XdsSnapshot snapshot)
    {
        var count = 0;
        foreach (var resource in snapshot.Endpoints.Resources.Values)
        {
            foreach (var group in ((ClusterLoadAssignment)resource.Message).Endpoints)
            {
                count += group.LbEndpoints.Count;
            }
        }

        return count;
    }

    /// <summary>The herald executable built next to this repository (Release first), or the given path.</summary>
    private static string? FindHerald(string? path)
    {
        if (path is not null)
        {
            return File.Exists(path) ? path : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Herald.slnx")))
            {
                string[] candidates =
                [
                    Path.Combine(dir.FullName, "proxy/bin/Release/net10.0/linux-x64/herald"),
                    Path.Combine(dir.FullName, "proxy/bin/Debug/net10.0/herald"),
                ];
                return candidates.FirstOrDefault(File.Exists);
            }
        }

        return null;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or IOException or InvalidOperationException)
        {
        }
    }

    private sealed record Workload(string Label, IReadOnlyList<Any> Clusters, IReadOnlyList<IReadOnlyList<Any>> EndpointSets);
}
