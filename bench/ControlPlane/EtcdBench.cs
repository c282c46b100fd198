using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Envoy.Config.Core.V3;
using Envoy.Service.Discovery.V3;
using Herald.Xds.ControlPlane;
using Herald.Xds.ControlPlane.Etcd;
using Herald.Xds.Streams;

namespace Herald.Benchmarks.ControlPlane;

/// <summary>
/// Part 4: the etcd store. A real etcd (started here, data in a temp folder) holds the generated
/// population; two <see cref="EtcdStore"/> replicas, each with its own <see cref="AdsServer"/>,
/// follow it. Measured: the memory one replica holds per 10,000 endpoints (beside the in-memory
/// registry's), whether both replicas give every node kind the same versions, and the time from
/// a registration through replica A to the EDS response carrying it on a stream of replica B.
/// </summary>
internal static class EtcdBench
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    public static async Task RunAsync(BenchOptions options, Report report)
    {
        var etcdBinary = FindOnPath("etcd") ?? throw new InvalidOperationException("part 4 needs etcd on PATH: apt-get install -y etcd-server");
        var dir = Directory.CreateTempSubdirectory("herald-bench-etcd-");
        var clientPort = FreePort();
        var peerPort = FreePort();
        using var etcd = StartEtcd(etcdBinary, dir.FullName, clientPort, peerPort);
        try
        {
            var endpoints = new[] { new Uri($"http://127.0.0.1:{clientPort}/") };
            using var clientA = new EtcdClient(endpoints);
            using var clientB = new EtcdClient(endpoints);
            using var storeA = new EtcdStore(clientA, "/herald/", TimeProvider.System);
            await storeA.StartAsync(TimeSpan.FromSeconds(30), CancellationToken.None);

            // The population goes in through replica A (16 registrations at a time, no TTL).
            var populate = Stopwatch.StartNew();
            await Parallel.ForAsync(0, options.Endpoints, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (j, ct) =>
            {
                var (service, address, labels, version) = BenchMesh.Instance(options.Services, j);
                await storeA.RegisterAsync(service, address, BenchMesh.Port, labels, version, null, ct);
            });
            populate.Stop();

            // Replica B lists them from etcd: what it holds is the registry's memory on an etcd replica.
            var before = GC.GetTotalMemory(true);
            using var storeB = new EtcdStore(clientB, "/herald/", TimeProvider.System);
            var listing = Stopwatch.StartNew();
            await storeB.StartAsync(Deadline, CancellationToken.None);
            var viewB = storeB.View();
            listing.Stop();
            var etcdHeld = GC.GetTotalMemory(true) - before;
            GC.KeepAlive(viewB);

            before = GC.GetTotalMemory(true);
            using (var memory = new ServiceRegistry(TimeProvider.System))
            {
                BenchMesh.Populate(memory, options.Services, options.Endpoints);
                var memoryView = memory.View();
                var memoryHeld = GC.GetTotalMemory(true) - before;
                GC.KeepAlive(memoryView);
                report.Add(
                    "4. registry memory per 10,000 endpoints, etcd replica",
                    Report.Mb(etcdHeld * 10_000 / options.Endpoints),
                    $"GC.GetTotalMemory(true) delta of a replica holding {viewB.Instances.Count} instances and their view; the in-memory registry holds {Report.Mb(memoryHeld * 10_000 / options.Endpoints)} for the same; "
                    + $"{options.Endpoints} registrations through replica A took {populate.ElapsedMilliseconds} ms (16 at a time), replica B listed them in {listing.ElapsedMilliseconds} ms; etcd RSS {Report.Mb(Report.Rss(etcd.Id.ToString(CultureInfo.InvariantCulture)))}");
            }

            var mesh = BenchMesh.Create(options.Services, options.Streams, options.Deps);
            using var adsA = new AdsServer(() => mesh, storeA, TimeProvider.System);
            using var adsB = new AdsServer(() => mesh, storeB, TimeProvider.System);
            await ConsistencyAsync(options, report, storeA, storeB, adsA, adsB);
            await LatencyAsync(options, report, storeA, adsB);
        }
        finally
        {
            etcd.Kill(entireProcessTree: true);
            await etcd.WaitForExitAsync();
            dir.Delete(recursive: true);
        }
    }

    private static async Task ConsistencyAsync(BenchOptions options, Report report, EtcdStore storeA, EtcdStore storeB, AdsServer adsA, AdsServer adsB)
    {
        // Both replicas at one revision and past any debounce: then their snapshots must agree.
        var deadline = DateTime.UtcNow + Deadline;
        while (storeA.Revision != storeB.Revision)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("the replicas did not reach one revision");
            }

            await Task.Delay(20);
        }

        await Task.Delay(AdsServer.Debounce * 4);
        var roles = new (string Label, NodeRole Role)[]
        {
            ("gateway", new NodeRole(NodeKind.Gateway, BenchMesh.GatewayName, null, null)),
            ("unscoped sidecar", new NodeRole(NodeKind.Sidecar, null, BenchMesh.UnscopedWorkload, null)),
            ("scoped sidecar", new NodeRole(NodeKind.Sidecar, null, BenchMesh.ScopedWorkload(0), null)),
        };
        var equal = 0;
        var compared = 0;
        var differing = new List<string>();
        foreach (var (label, role) in roles)
        {
            var a = adsA.SnapshotFor(role);
            var b = adsB.SnapshotFor(role);
            foreach (var (type, x, y) in new[] { ("LDS", a.Listeners, b.Listeners), ("RDS", a.Routes, b.Routes), ("CDS", a.Clusters, b.Clusters), ("EDS", a.Endpoints, b.Endpoints) })
            {
                compared++;
                if (x.Version == y.Version)
                {
                    equal++;
                }
                else
                {
                    differing.Add($"{label} {type}");
                }
            }
        }

        report.Add(
            "4. snapshot consistency across two etcd replicas",
            $"{equal}/{compared} type versions equal",
            $"gateway, unscoped and scoped sidecar x LDS/RDS/CDS/EDS at etcd revision {storeA.Revision} ({options.Endpoints} instances); versions are content hashes{(differing.Count > 0 ? "; DIFFERENT: " + string.Join(", ", differing) : string.Empty)}");
    }

    private static async Task LatencyAsync(BenchOptions options, Report report, EtcdStore storeA, AdsServer adsB)
    {
        using var stop = new CancellationTokenSource();
        var (clientEnd, serverEnd) = InMemoryStreams.CreatePair<DiscoveryRequest, DiscoveryResponse>();
        var serving = Task.Run(() => adsB.HandleStateOfTheWorldAsync(serverEnd, stop.Token));
        var subscriber = new Subscriber(clientEnd, new Node { Id = "bench-etcd", Cluster = BenchMesh.ScopedWorkload(0) });
        var running = Task.Run(() => subscriber.RunAsync(stop.Token));
        try
        {
            await subscriber.FirstEndpoints.WaitAsync(Deadline);
            await Task.Delay(options.PauseMs);
            var samples = new Samples();
            var cluster = SnapshotBuilder.OutboundCluster(BenchMesh.Port, null, BenchMesh.ChangedService);
            var labels = new Dictionary<string, string> { ["version"] = "v1", ["region"] = "r1", ["zone"] = "zone-a" };
            for (var c = 0; c < options.Changes; c++)
            {
                var address = BenchMesh.Address(12, c + 1);
                var arrived = subscriber.Expect(cluster, address);
                var start = Stopwatch.GetTimestamp();
                await storeA.RegisterAsync(BenchMesh.ChangedService, address, BenchMesh.Port, labels, "1.0.0", TimeSpan.FromSeconds(60), CancellationToken.None);
                samples.AddElapsed(start, await arrived.WaitAsync(Deadline));
                await Task.Delay(options.PauseMs);
            }

            report.Add(
                "4. registration through replica A -> EDS on a stream of replica B: p50 / p99",
                $"{samples.P50P99()} ms",
                $"{samples.Count} registrations with a 60 s TTL (lease grant + put); scoped sidecar of {options.Deps} deps; includes etcd's watch delivery and the {AdsServer.Debounce.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)} ms debounce; {options.Endpoints} instances in etcd");
        }
        finally
        {
            await stop.CancelAsync();
            await clientEnd.DisposeAsync();
            await Task.WhenAny(Task.WhenAll(serving, running), Task.Delay(TimeSpan.FromSeconds(5)));
        }
    }

    private static Process StartEtcd(string binary, string dir, int clientPort, int peerPort)
    {
        var info = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[]
        {
            "--name", "bench", "--data-dir", Path.Combine(dir, "data"),
            "--listen-client-urls", $"http://127.0.0.1:{clientPort}", "--advertise-client-urls", $"http://127.0.0.1:{clientPort}",
            "--listen-peer-urls", $"http://127.0.0.1:{peerPort}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPort}",
            "--initial-cluster", $"bench=http://127.0.0.1:{peerPort}", "--log-level", "warn",
        })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start etcd");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);
}
