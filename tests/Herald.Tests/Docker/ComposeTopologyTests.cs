using Herald.Proxy.Cli;
using Herald.Tests.EndToEnd.Xds;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Docker;

/// <summary>
/// docker/compose.yaml's topology run as real processes on loopback, since no container
/// engine runs here: the control plane on docker/compose/mesh.yaml and the gateway on
/// docker/compose/gateway.yaml, with only host names and ports changed.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ComposeTopologyTests
{
    private static string ComposeDirectory => Path.Combine(DockerfileLintTests.DockerDirectory, "compose");

    [Fact(Timeout = 120_000)]
    public async Task ComposeFiles_ControlPlaneAndGateway_RouteToTheDemo()
    {
        await using var demo = await RecordingUpstream.StartAsync("demo");
        var gatewayPort = FreePort.Next();
        var adminPort = FreePort.Next();
        using var mesh = new TempFile();
        await File.WriteAllTextAsync(mesh.Path, Replace(
            await File.ReadAllTextAsync(Path.Combine(ComposeDirectory, "mesh.yaml")),
            ("dns: demo", "dns: localhost"),
            ("port: 80\n", $"port: {demo.Port}\n"),
            ("port: 10000", $"port: {gatewayPort}")));
        await using var controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path);
        using var bootstrap = new TempFile();
        await File.WriteAllTextAsync(bootstrap.Path, Replace(
            await File.ReadAllTextAsync(Path.Combine(ComposeDirectory, "gateway.yaml")),
            ("address: control-plane, port_value: 15010", $"address: 127.0.0.1, port_value: {controlPlane.XdsPort}"),
            ("port_value: 15000", $"port_value: {adminPort}")));

        await using var gateway = HeraldCli.Start("proxy", "--bootstrap", bootstrap.Path);
        var stderr = new StringWriter();
        var ready = await WaitCommand.RunAsync(["--admin", $"127.0.0.1:{adminPort}", "--timeout", "60s"], new StringWriter(), stderr, TimeProvider.System);
        Assert.True(ready == CommandLine.ExitOk, stderr + "\n" + gateway.Transcript());

        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var status = 0;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            try
            {
                using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{gatewayPort}/hello"));
                status = (int)response.StatusCode;
                if (status == 200)
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // The gateway's listener comes over ADS and may bind just after /ready.
                status = -1;
            }
        }

        Assert.True(status == 200, $"last status {status}\n{gateway.Transcript()}");
        Assert.Contains(demo.Requests, r => r.Path == "/hello");
    }

    private static string Replace(string text, params (string From, string To)[] edits)
    {
        foreach (var (from, to) in edits)
        {
            Assert.True(text.Contains(from, StringComparison.Ordinal), $"the compose file no longer holds '{from.Trim()}'; update this test with it");
            text = text.Replace(from, to, StringComparison.Ordinal);
        }

        return text;
    }
}
