using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// A <c>herald proxy</c> gateway configured over gRPC ADS keeps serving its last good
/// configuration when the control plane dies, reports the loss in
/// <c>control_plane.connected_state</c>, and reconnects when the control plane comes back.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ControlPlaneOutageTests(ITestOutputHelper output)
{
    private const string ConnectedState = "control_plane.connected_state";

    [Fact(Timeout = 240_000)]
    public async Task Gateway_ControlPlaneKilledAndRestarted_ServesThroughoutAndReconnects()
    {
        var gatewayPort = FreePort.Next();
        using var mesh = new MeshFile(MeshFile.WebBehindEdge(gatewayPort));
        var controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path);
        try
        {
            await using var upstreams = await Upstreams.StartAsync(2);
            foreach (var upstream in upstreams.All)
            {
                await controlPlane.RegisterAsync("web", upstream.Port, new Dictionary<string, string>(), "1.0.0");
            }

            await using var gateway = await DataPlaneProcess.StartGatewayProxyAsync("edge", controlPlane.XdsPort);
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            {
                Timeout = TimeSpan.FromSeconds(10),
            };
            var url = $"http://127.0.0.1:{gatewayPort}/";
            string Context() => $"--- gateway ---\n{gateway.Transcript()}\n--- {controlPlane.Transcript()}";

            await TrafficLoop.WaitUntilAllOkAsync(http, url, Context);
            Assert.True(await gateway.WaitForStatAsync(ConnectedState, v => v == 1, TimeSpan.FromSeconds(10)), "connected_state should be 1 while connected\n" + Context());

            // A steady loop of 2,000 requests; the control plane is killed (SIGKILL) after the first 200.
            var loop = new TrafficLoop(http, url);
            var running = loop.RunAsync(2000, 4, TimeSpan.FromSeconds(90));
            await loop.WaitForCountAsync(200, TimeSpan.FromSeconds(30));
            controlPlane.Kill();
            var killedAt = loop.Count;
            await gateway.WaitForStderrLineAsync(l => l.StartsWith($"herald: xDS stream to 127.0.0.1:{controlPlane.XdsPort} ended (", StringComparison.Ordinal) && l.Contains("reconnecting in", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
            var disconnected = await gateway.WaitForStatAsync(ConnectedState, v => v == 0, TimeSpan.FromSeconds(15));
            var result = await running;
            output.WriteLine($"loop: {result}; control plane killed after request {killedAt}");
            Assert.True(result.Failed == 0, $"requests failed while the control plane went away: {result}\n{Context()}");
            Assert.True(result.Succeeded == 2000, result.ToString());
            Assert.True(disconnected, $"{ConnectedState} did not go to 0 within 15 s of the control plane's death\n{Context()}");

            // Disconnected: the last good config still serves.
            var during = await new TrafficLoop(http, url).RunAsync(500, 4, TimeSpan.FromSeconds(60));
            Assert.True(during.Failed == 0 && during.Succeeded == 500, $"while disconnected: {during}\n{Context()}");
            Assert.Equal(0, await gateway.GetStatAsync(ConnectedState));

            // Back on the same port with the same mesh; its registry starts empty, so re-register at once.
            // A loop runs through the restart: whether the gateway saw the empty registry first is reported, not asserted.
            var across = new TrafficLoop(http, url);
            var acrossRunning = across.RunAsync(100_000, 2, TimeSpan.FromSeconds(120));
            await controlPlane.DisposeAsync();
            controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path, controlPlane.XdsPort, controlPlane.ApiPort);
            foreach (var upstream in upstreams.All)
            {
                await controlPlane.RegisterAsync("web", upstream.Port, new Dictionary<string, string>(), "1.0.0");
            }

            var stopwatch = Stopwatch.StartNew();
            var reconnected = await gateway.WaitForStatAsync(ConnectedState, v => v == 1, TimeSpan.FromSeconds(60));
            var reconnectTime = stopwatch.Elapsed;
            Assert.True(reconnected, $"{ConnectedState} did not return to 1 within 60 s of the restart\n{Context()}");
            await TrafficLoop.WaitUntilAllOkAsync(http, url, Context);
            across.Stop();
            var acrossResult = await acrossRunning;
            output.WriteLine($"reconnected {reconnectTime.TotalSeconds:F1} s after re-registration; loop across the restart: {acrossResult}");

            // Reconnected, with the re-registered instances: every request served, by both upstreams.
            foreach (var upstream in upstreams.All)
            {
                upstream.Clear();
            }

            var after = await new TrafficLoop(http, url).RunAsync(1000, 4, TimeSpan.FromSeconds(60));
            Assert.True(after.Failed == 0 && after.Succeeded == 1000, $"after the restart: {after}\n{Context()}");
            Assert.All(upstreams.All, u => Assert.True(u.Count > 0, $"{u.Name} got no request after the restart"));
            Assert.Contains("\"node_id\":\"gateway-edge\"", await controlPlane.ProxiesAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await controlPlane.DisposeAsync();
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task Gateway_ListenerPortTaken_LogsTheRejectedListenersAndStaysUnready()
    {
        // Another process holds the gateway's port: the listener cannot bind, so the update is refused.
        using var holder = new TcpListener(IPAddress.Any, 0);
        holder.Start();
        var takenPort = ((IPEndPoint)holder.LocalEndpoint).Port;
        using var mesh = new MeshFile(MeshFile.WebBehindEdge(takenPort));
        await using var controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path);
        await using var gateway = DataPlaneProcess.LaunchGatewayProxy("edge", controlPlane.XdsPort);

        var line = await gateway.WaitForStderrLineAsync(l => l.StartsWith("herald: xDS update rejected: type.googleapis.com/envoy.config.listener.v3.Listener version '", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        output.WriteLine(line);
        Assert.Contains(takenPort.ToString(CultureInfo.InvariantCulture), line, StringComparison.Ordinal);
        using var ready = await gateway.Admin.GetAsync("ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.False(gateway.HasExited, gateway.Transcript());
    }
}
