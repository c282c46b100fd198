using System.Diagnostics;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// Config changes under load through <c>herald gateway</c>: routes (the watched mesh file) and
/// endpoints (registry register/deregister of real Kestrel upstreams) change every second while
/// h2load drives HTTP/1.1 keep-alive and HTTP/2 clients; not one request may fail.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ConfigChurnTests(ITestOutputHelper output)
{
    private static readonly TimeSpan LoadTime = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 240_000)]
    public async Task RoutesAndEndpointsChangingEverySecond_UnderHttp1AndH2Load_NoRequestFails()
    {
        var gatewayPort = FreePort.Next();
        var apiPort = FreePort.Next();
        using var mesh = new MeshFile(Mesh(gatewayPort, 80, "5s"));
        await using var gateway = await DataPlaneProcess.StartEmbeddedGatewayAsync(mesh.Path, apiPort);
        using var api = RegistryClient.Create(apiPort);

        // Two instances per subset; one of each is registered at any time, and a swap registers
        // the standby before the active one leaves, so a subset is never empty.
        var upstreams = new RecordingUpstream[4];
        for (var i = 0; i < upstreams.Length; i++)
        {
            upstreams[i] = await RecordingUpstream.StartAsync($"demo-{i}");
        }

        try
        {
            string Track(int i) => i % 2 == 0 ? "v1" : "v2";
            Task<string> Register(int i) => RegistryClient.RegisterAsync(api, "demo", upstreams[i].Port, new Dictionary<string, string> { ["version"] = Track(i) }, Track(i) == "v1" ? "1.0.0" : "2.0.0");
            var active = new[] { 0, 1 };
            var ids = new[] { await Register(0), await Register(1) };
            var url = $"http://127.0.0.1:{gatewayPort}/";
            await WaitServingAsync(url, gateway);

            var http1 = H2load.RunForAsync(url, LoadTime, clients: 4, streams: 1, http1: true);
            var h2 = H2load.RunForAsync(url, LoadTime, clients: 2, streams: 4, http1: false);
            var changes = 0;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < LoadTime - TimeSpan.FromSeconds(1))
            {
                if (changes % 2 == 0)
                {
                    // A route change: new weights and a new timeout.
                    mesh.Write(Mesh(gatewayPort, changes % 4 == 0 ? 50 : 80, changes % 4 == 0 ? "6s" : "5s"));
                }
                else
                {
                    // An endpoint change: one subset moves to its standby instance.
                    var subset = changes / 2 % 2;
                    var next = active[subset] + 2 < upstreams.Length ? active[subset] + 2 : subset;
                    var nextId = await Register(next);
                    await RegistryClient.DeregisterAsync(api, ids[subset]);
                    (active[subset], ids[subset]) = (next, nextId);
                }

                changes++;
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            var runs = new[] { ("HTTP/1.1", await http1), ("h2", await h2) };
            var served = upstreams.Select(u => $"{u.Name}: {u.Count}");
            output.WriteLine($"{changes} config changes; upstreams {string.Join(", ", served)}");
            foreach (var (name, run) in runs)
            {
                output.WriteLine($"{name}: {run.Succeeded} succeeded, {run.Failed} failed, {run.Status2xx} 2xx");
                Assert.True(
                    run.Succeeded > 100 && run.Failed == 0 && run.Status2xx == run.Succeeded,
                    $"{name}: {run.Process}\n--- gateway ---\n{gateway.Transcript()}");
            }

            Assert.True(changes >= 20, $"only {changes} config changes in {LoadTime}");
            Assert.True(upstreams.All(u => u.Count > 0), $"not every instance served: {string.Join(", ", served)}");
        }
        finally
        {
            foreach (var upstream in upstreams)
            {
                await upstream.DisposeAsync();
            }
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task GatewayPortMoved_RequestInFlightOnOldListener_FinishesWithConnectionClose()
    {
        var oldPort = FreePort.Next();
        var newPort = FreePort.Next();
        var apiPort = FreePort.Next();
        using var mesh = new MeshFile(Mesh(oldPort, 100, "30s"));
        await using var gateway = await DataPlaneProcess.StartEmbeddedGatewayAsync(mesh.Path, apiPort);
        using var api = RegistryClient.Create(apiPort);
        await using var upstream = await HeldUpstream.StartAsync();
        await RegistryClient.RegisterAsync(api, "demo", upstream.Port, new Dictionary<string, string> { ["version"] = "v1" }, "1.0.0");
        await WaitServingAsync($"http://127.0.0.1:{oldPort}/", gateway);

        using var inFlight = await upstream.SendHeldRequestAsync(oldPort, TimeSpan.FromSeconds(20));

        // The gateway moves: LDS replaces the listener; the old one must drain, not cut.
        mesh.Write(Mesh(newPort, 100, "30s"));
        await WaitServingAsync($"http://127.0.0.1:{newPort}/", gateway);
        Assert.True(
            await gateway.WaitForStatAsync("listener_manager.total_listeners_draining", v => v == 1, TimeSpan.FromSeconds(10)),
            "the old listener is not draining\n" + gateway.Transcript());

        upstream.Release();
        var (head, body) = await inFlight.ReadResponseAsync(TimeSpan.FromSeconds(20));
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Contains("connection: close", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("held HTTP/1.1", body);
        Assert.True(
            await gateway.WaitForStatAsync("listener_manager.total_listeners_draining", v => v == 0, TimeSpan.FromSeconds(10)),
            "the old listener still drains after its last request\n" + gateway.Transcript());
        await Assert.ThrowsAsync<System.Net.Sockets.SocketException>(() => RawHttp.ConnectAsync(oldPort));
    }

    private static async Task WaitServingAsync(string url, DataPlaneProcess gateway)
    {
        using var http = TestHttp.CreateClient();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // The listener arrives with the first config.
            }

            Assert.True(DateTime.UtcNow < deadline, $"the gateway did not serve {url} within 30 s\n{gateway.Transcript()}");
            await Task.Delay(100);
        }
    }

    private static string Mesh(int gatewayPort, int v1Weight, string timeout) => $$"""
        services:
          - name: demo
            ports:
              - port: 8080
                protocol: http
            subsets:
              - name: v1
                labels: {version: v1}
                version: 1.0.0
              - name: v2
                labels: {version: v2}
                version: 2.0.0
            routing:
              timeout: {{timeout}}
              rules:
                - split: [{subset: v1, weight: {{v1Weight}}}, {subset: v2, weight: {{100 - v1Weight}}}]
        gateways:
          - name: edge
            port: {{gatewayPort}}
            hosts: ["*"]
            routes:
              - service: demo
        """;
}
