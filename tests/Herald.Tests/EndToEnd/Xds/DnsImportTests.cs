using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// A mesh service whose instances come from DNS SRV records served by a real dnsmasq: the
/// gateway reaches every target, the registry lists them marked with their source beside a
/// registered instance, and a change of records reaches traffic once their TTL (1 s) runs out.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class DnsImportTests
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    [Fact(Timeout = 180_000)]
    public async Task SrvImport_RecordsChange_GatewayFollowsWithSourceMarked()
    {
        await using var upstreams = await Upstreams.StartAsync(3);
        var (first, second, registered) = (upstreams.All[0], upstreams.All[1], upstreams.All[2]);
        string[] Records(params RecordingUpstream[] targets) =>
        [
            "--local=/legacy.test/", // authoritative for the zone: a name with no AAAA gets an empty answer, not REFUSED
            .. targets.Select((u, i) => $"--srv-host=_http._tcp.legacy.test,t{i}.legacy.test,{u.Port}"),
            .. targets.Select((_, i) => $"--host-record=t{i}.legacy.test,127.0.0.1"),
        ];
        await using var dns = await DnsmasqProcess.StartAsync(Records(first, second));
        var gatewayPort = FreePort.Next();
        using var mesh = new MeshFile($$"""
            services:
              - name: legacy
                ports: [{port: 8080, protocol: http}]
                import: {dns_srv: _http._tcp.legacy.test}
            gateways:
              - name: edge
                port: {{gatewayPort}}
                routes:
                  - service: legacy
            """);
        await using var controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path, dnsServer: $"127.0.0.1:{dns.Port}");
        await controlPlane.RegisterAsync("legacy", registered.Port, new Dictionary<string, string>(), "1.0.0");
        await using var gateway = await DataPlaneProcess.StartGatewayProxyAsync("edge", controlPlane.XdsPort);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        var url = $"http://127.0.0.1:{gatewayPort}/";
        string Context() => $"--- gateway ---\n{gateway.Transcript()}\n--- {controlPlane.Transcript()}\n--- {dns.Transcript()}";

        // Imported and registered instances meet in one view: traffic reaches all three.
        await WaitUntilAsync(async () => await ServedByAsync(http, url) is { } by && by.SetEquals(upstreams.Names), () => "not every instance got traffic\n" + Context());
        var listed = await ListAsync(controlPlane);
        (string, string?)[] expected =
        [
            ($"127.0.0.1:{first.Port}", "dns-srv:_http._tcp.legacy.test"),
            ($"127.0.0.1:{second.Port}", "dns-srv:_http._tcp.legacy.test"),
            ($"127.0.0.1:{registered.Port}", null),
        ];
        Assert.Equal(expected.OrderBy(l => l.Item1, StringComparer.Ordinal), listed.OrderBy(l => l.Address, StringComparer.Ordinal));

        // The second target leaves DNS: once the 1 s TTL runs out it leaves the gateway's endpoints.
        await dns.RestartAsync(Records(first));
        await WaitUntilAsync(
            async () => await ServedByAsync(http, url) is { } by && by.SetEquals([first.Name, registered.Name]),
            () => "the removed SRV target still gets traffic (or another lost it)\n" + Context());
        Assert.DoesNotContain(await ListAsync(controlPlane), l => l.Address.EndsWith($":{second.Port}", StringComparison.Ordinal));
    }

    private static async Task<HashSet<string>?> ServedByAsync(HttpClient http, string url)
    {
        var by = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 60; i++)
        {
            try
            {
                using var response = await http.GetAsync(url);
                if (!response.IsSuccessStatusCode || !response.Headers.TryGetValues("x-upstream", out var values))
                {
                    return null;
                }

                by.UnionWith(values);
            }
            catch (HttpRequestException)
            {
                return null;
            }
        }

        return by;
    }

    private static async Task<List<(string Address, string? Source)>> ListAsync(ControlPlaneProcess controlPlane)
    {
        using var document = JsonDocument.Parse(await controlPlane.Api.GetStringAsync("v1/registry/services/legacy"));
        return
        [
            .. document.RootElement.GetProperty("instances").EnumerateArray().Select(i => (
                $"{i.GetProperty("address").GetString()}:{i.GetProperty("port").GetInt32()}",
                i.GetProperty("source").GetString())),
        ];
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<string> failure)
    {
        var deadline = DateTime.UtcNow + Converge;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure());
            await Task.Delay(100);
        }
    }
}
