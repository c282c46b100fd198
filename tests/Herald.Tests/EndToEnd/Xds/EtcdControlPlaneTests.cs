using System.Diagnostics;
using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// Two control-plane replicas over a real etcd (Debian's etcd-server), a gateway whose ADS
/// cluster lists both, and a sidecar given both with <c>--xds A,B</c>: what is registered
/// through one replica reaches traffic through the other; killing the replica a gateway uses
/// under load fails no request; etcd restarts without losing state; an instance whose lease
/// expires leaves the endpoints.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EtcdControlPlaneTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 300_000)]
    public async Task TwoReplicas_RegisterKillRestartExpire_TrafficFollowsWithoutFailures()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var gatewayPort = FreePort.Next();
        var webPort = FreePort.Next();
        using var mesh = new MeshFile($$"""
            services:
              - name: web
                ports: [{port: {{webPort}}, protocol: http}]
            gateways:
              - name: edge
                port: {{gatewayPort}}
                routes:
                  - service: web
            sidecars:
              - workload: frontend
                dependencies: [web]
            """);

        // Replica A is given the mesh file and stores it in etcd; replica B serves what etcd holds.
        await using var replicaA = await ControlPlaneProcess.StartAsync(mesh.Path, store: etcd.StoreUrl);
        var replicaB = await ControlPlaneProcess.StartAsync(null, store: etcd.StoreUrl);
        await using var upstreams = await Upstreams.StartAsync(3);
        var (first, second, third) = (upstreams.All[0], upstreams.All[1], upstreams.All[2]);
        DataPlaneProcess? gateway = null;
        DataPlaneProcess? sidecar = null;
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        var gatewayUrl = $"http://127.0.0.1:{gatewayPort}/";
        string Context() =>
            $"--- gateway ---\n{gateway?.Transcript()}\n--- sidecar ---\n{sidecar?.Transcript()}\n--- A: {replicaA.Transcript()}\n--- B: {replicaB.Transcript()}\n--- {etcd.Transcript()}";
        try
        {
            // The gateway's first endpoint is B, the sidecar's first is A.
            gateway = await DataPlaneProcess.StartGatewayProxyAsync("edge", [replicaB.XdsPort, replicaA.XdsPort]);
            sidecar = await DataPlaneProcess.StartSidecarAsync("frontend-1", "frontend", $"{replicaA.XdsAddress},{replicaB.XdsAddress}");
            await WaitForProxyAsync(replicaB, "gateway-edge", Context);
            await WaitForProxyAsync(replicaA, "frontend-1", Context);

            // Registered through A, served through B (the gateway) and A (the sidecar).
            var registeredAt = Stopwatch.StartNew();
            await replicaA.RegisterAsync("web", first.Port, new Dictionary<string, string>(), "1.0.0");
            await WaitUntilServedByAsync(http, gatewayUrl, null, first.Name, Context);
            output.WriteLine($"registration through A to traffic through B: {registeredAt.ElapsedMilliseconds} ms");
            await WaitUntilServedByAsync(http, $"http://127.0.0.1:{webPort}/", "web", first.Name, Context);
            Assert.Single(await replicaB.InstanceIdsAsync("web"));

            // Same state, same versions: what the gateway acknowledged from B it acknowledges from A after the switch.
            var versionsOnB = await WaitForAckedVersionsAsync(replicaB, "gateway-edge", 4);

            // B dies (SIGKILL) under load: the gateway keeps serving its last config and moves to A.
            var loop = new TrafficLoop(http, gatewayUrl);
            var running = loop.RunAsync(3000, 4, TimeSpan.FromSeconds(120));
            await loop.WaitForCountAsync(300, TimeSpan.FromSeconds(30));
            replicaB.Kill();
            await WaitForProxyAsync(replicaA, "gateway-edge", Context);
            var underLoad = await running;
            output.WriteLine($"loop across the death of replica B: {underLoad}");
            Assert.True(underLoad.Failed == 0 && underLoad.Succeeded == 3000, $"requests failed when replica B died: {underLoad}\n{Context()}");
            var versionsOnA = await WaitForAckedVersionsAsync(replicaA, "gateway-edge", versionsOnB.Count);
            Assert.True(
                versionsOnB.OrderBy(v => v.Key).SequenceEqual(versionsOnA.OrderBy(v => v.Key)),
                $"replicas served different versions for one state: B {Show(versionsOnB)}, A {Show(versionsOnA)}");

            // The gateway now on A follows new registrations.
            await replicaA.RegisterAsync("web", second.Port, new Dictionary<string, string>(), "1.0.0");
            await WaitUntilServedByAsync(http, gatewayUrl, null, second.Name, Context);

            // etcd restarts (SIGKILL, then the same data): the registrations survive; a new replica sees them.
            etcd.Kill();
            var whileDown = await new TrafficLoop(http, gatewayUrl).RunAsync(200, 2, TimeSpan.FromSeconds(60));
            Assert.True(whileDown.Failed == 0, $"requests failed while etcd was down: {whileDown}\n{Context()}");
            await etcd.RestartAsync();
            await replicaB.DisposeAsync();
            replicaB = await ControlPlaneProcess.StartAsync(null, store: etcd.StoreUrl);
            Assert.Equal(2, (await replicaB.InstanceIdsAsync("web")).Count);

            // After the restart A's watch resumes: a registration through the new B reaches the gateway on A.
            var expiring = await RegisterWithRetryAsync(replicaB, third.Port, ttlSeconds: 3);
            await WaitUntilServedByAsync(http, gatewayUrl, null, third.Name, Context);
            Assert.True(await replicaA.HeartbeatAsync(expiring), "a heartbeat through the other replica renews the instance's lease");

            // No more heartbeats: the lease expires, etcd removes the instance, the gateway stops sending to it.
            var expiry = Stopwatch.StartNew();
            await WaitUntilAsync(async () => !(await replicaA.InstanceIdsAsync("web")).Contains(expiring), Converge, () => "the expired instance is still listed\n" + Context());
            output.WriteLine($"lease of 3 s expired and the instance left the registry after {expiry.ElapsedMilliseconds} ms");
            await WaitUntilAsync(
                async () =>
                {
                    third.Clear();
                    var answers = await new TrafficLoop(http, gatewayUrl).RunAsync(60, 2, TimeSpan.FromSeconds(30));
                    return answers.Failed == 0 && third.Count == 0;
                },
                Converge,
                () => "traffic still reaches the expired instance\n" + Context());
            Assert.False(await replicaA.HeartbeatAsync(expiring), "a heartbeat for an expired instance is refused (register again)");
        }
        finally
        {
            if (gateway is not null)
            {
                await gateway.DisposeAsync();
            }

            if (sidecar is not null)
            {
                await sidecar.DisposeAsync();
            }

            await replicaB.DisposeAsync();
        }
    }

    // Right after etcd restarts, a replica may answer 503 until its client reconnects.
    private static async Task<string> RegisterWithRetryAsync(ControlPlaneProcess replica, int port, int ttlSeconds)
    {
        var deadline = DateTime.UtcNow + Converge;
        while (true)
        {
            using var response = await replica.RegisterRawAsync("web", port, new Dictionary<string, string>(), "1.0.0", ttlSeconds);
            var text = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
            }

            Assert.True((int)response.StatusCode == 503 && DateTime.UtcNow < deadline, $"register after the etcd restart: {(int)response.StatusCode} {text}");
            await Task.Delay(100);
        }
    }

    private static async Task WaitForProxyAsync(ControlPlaneProcess replica, string nodeId, Func<string> context) =>
        await WaitUntilAsync(
            async () => (await replica.ProxiesAsync()).Contains($"\"node_id\":\"{nodeId}\"", StringComparison.Ordinal),
            Converge,
            () => $"{nodeId} did not connect to {replica.XdsAddress}\n{context()}");

    [Fact(Timeout = 180_000)]
    public async Task EmbeddedGateway_StoreWithoutConfig_ServesStoredMeshAndOtherReplicasRegistrations()
    {
        await using var etcd = await EtcdProcess.StartAsync();
        var gatewayPort = FreePort.Next();
        using var mesh = new MeshFile(MeshFile.WebBehindEdge(gatewayPort));
        await using var replica = await ControlPlaneProcess.StartAsync(mesh.Path, store: etcd.StoreUrl);
        await using var upstreams = await Upstreams.StartAsync(1);
        await using var gateway = await DataPlaneProcess.StartStoredGatewayAsync(etcd.StoreUrl, "edge", FreePort.Next());
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        string Context() => $"--- gateway ---\n{gateway.Transcript()}\n--- replica: {replica.Transcript()}\n--- {etcd.Transcript()}";

        // Registered through the stand-alone replica; the gateway's embedded control plane follows etcd.
        await replica.RegisterAsync("web", upstreams.All[0].Port, new Dictionary<string, string>(), "1.0.0");

        await WaitUntilServedByAsync(http, $"http://127.0.0.1:{gatewayPort}/", null, upstreams.All[0].Name, Context);
    }

    private static async Task WaitUntilServedByAsync(HttpClient http, string url, string? host, string upstream, Func<string> context) =>
        await WaitUntilAsync(
            async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                if (host is not null)
                {
                    request.Headers.Host = host;
                }

                try
                {
                    using var response = await http.SendAsync(request);
                    return response.Headers.TryGetValues("x-upstream", out var values) && values.Contains(upstream);
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            },
            Converge,
            () => $"{url} was never answered by {upstream}\n{context()}");

    private static async Task<Dictionary<string, string>> AckedVersionsAsync(ControlPlaneProcess replica, string nodeId)
    {
        using var document = JsonDocument.Parse(await replica.ProxiesAsync());
        var proxy = document.RootElement.EnumerateArray().Last(p => p.GetProperty("node_id").GetString() == nodeId);
        return proxy.GetProperty("acked_versions").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    private static async Task<Dictionary<string, string>> WaitForAckedVersionsAsync(ControlPlaneProcess replica, string nodeId, int types)
    {
        var versions = new Dictionary<string, string>();
        await WaitUntilAsync(async () => (versions = await AckedVersionsAsync(replica, nodeId)).Count >= types, Converge, () => $"{nodeId} acknowledged only {Show(versions)}");
        return versions;
    }

    private static string Show(Dictionary<string, string> versions) => string.Join(", ", versions.OrderBy(v => v.Key).Select(v => $"{v.Key.Split('.')[^1]}={v.Value}"));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
            await Task.Delay(50);
        }
    }
}
