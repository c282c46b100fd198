using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// <c>herald gateway --config herald.yaml</c>, the README's first command: control plane and
/// data plane in one process, on the shipped example mesh (docs/examples/herald.yaml). Its
/// split, canary header and cookie work with instances registered through its registry API,
/// and an edit of the file's weights is followed live.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class EmbeddedGatewayTests
{
    private const string ExampleSplit = "- split: [{subset: v1, weight: 80}, {subset: v2, weight: 20}]";

    [Fact(Timeout = 180_000)]
    public async Task EmbeddedGateway_ExampleMesh_SplitsCanariesAndFollowsWeightEdits()
    {
        var example = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "examples", "herald.yaml"));
        Assert.Contains("    port: 10000\n", example, StringComparison.Ordinal);
        Assert.Contains(ExampleSplit, example, StringComparison.Ordinal);
        var gatewayPort = FreePort.Next();
        var apiPort = FreePort.Next();
        using var mesh = new MeshFile(example.Replace("    port: 10000\n", $"    port: {gatewayPort}\n", StringComparison.Ordinal));

        await using var gateway = await DataPlaneProcess.StartEmbeddedGatewayAsync(mesh.Path, apiPort);
        var registered = await WaitForLineAsync(gateway, "herald gateway: registry API on");
        Assert.Contains($"127.0.0.1:{apiPort}", registered, StringComparison.Ordinal);

        await using var v1 = await RecordingUpstream.StartAsync("demo-v1");
        await using var v2 = await RecordingUpstream.StartAsync("demo-v2");
        using var api = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };
        await RegisterAsync(api, apiPort, v1.Port, "v1", "1.0.0");
        await RegisterAsync(api, apiPort, v2.Port, "v2", "2.0.0");

        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
        var url = $"http://127.0.0.1:{gatewayPort}/";
        string Context() => $"--- mesh.yaml ---\n{mesh.Text}\n--- gateway ---\n{gateway.Transcript()}";

        // The listener comes with the first config, the endpoints with the registrations.
        await PollAsync(http, url, 20, c => c.GetValueOrDefault("demo-v1") + c.GetValueOrDefault("demo-v2") == 20, "the gateway did not serve demo", Context);

        // 80/20 over 1,000 requests, within ±5%.
        var split = await SendAsync(http, url, 1000);
        Assert.True(split.GetValueOrDefault("demo-v1") + split.GetValueOrDefault("demo-v2") == 1000, $"{Show(split)}\n{Context()}");
        Assert.InRange(split.GetValueOrDefault("demo-v2"), 150, 250);

        // Chosen users always reach v2: the x-canary header, or the canary cookie.
        var header = await SendAsync(http, url, 100, ("x-canary", "true"));
        Assert.True(header.Count == 1 && header.GetValueOrDefault("demo-v2") == 100, $"x-canary: true must always reach v2: {Show(header)}\n{Context()}");
        var cookie = await SendAsync(http, url, 100, ("cookie", "canary=on"));
        Assert.True(cookie.Count == 1 && cookie.GetValueOrDefault("demo-v2") == 100, $"cookie canary=on must always reach v2: {Show(cookie)}\n{Context()}");

        // Edit the file's weights: 0/100, then 100/0; traffic follows each edit.
        mesh.Replace(ExampleSplit, "- split: [{subset: v1, weight: 0}, {subset: v2, weight: 100}]");
        await PollAsync(http, url, 50, c => c.Count == 1 && c.GetValueOrDefault("demo-v2") == 50, "after the weights went to 0/100, v1 was still reached", Context);
        var allV2 = await SendAsync(http, url, 300);
        Assert.True(allV2.Count == 1 && allV2.GetValueOrDefault("demo-v2") == 300, $"0/100: {Show(allV2)}\n{Context()}");

        mesh.Replace("- split: [{subset: v1, weight: 0}, {subset: v2, weight: 100}]", "- split: [{subset: v1, weight: 100}, {subset: v2, weight: 0}]");
        await PollAsync(http, url, 50, c => c.Count == 1 && c.GetValueOrDefault("demo-v1") == 50, "after the weights went to 100/0, v2 was still reached", Context);
        var canaryStill = await SendAsync(http, url, 50, ("x-canary", "true"));
        Assert.True(canaryStill.Count == 1 && canaryStill.GetValueOrDefault("demo-v2") == 50, $"x-canary still wins over the split: {Show(canaryStill)}");
    }

    private static async Task RegisterAsync(HttpClient api, int apiPort, int port, string track, string version)
    {
        var body = $$"""{"service":"demo","address":"127.0.0.1","port":{{port}},"labels":{"version":"{{track}}"},"version":"{{version}}","ttl_seconds":600}""";
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await api.PutAsync($"http://127.0.0.1:{apiPort}/v1/registry/instances", content);
        Assert.True(response.IsSuccessStatusCode, $"register {track}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private static async Task<string> WaitForLineAsync(DataPlaneProcess process, string prefix)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var line = process.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal));
            if (line is not null)
            {
                return line;
            }

            Assert.True(DateTime.UtcNow < deadline, $"no line starting '{prefix}'\n{process.Transcript()}");
            await Task.Delay(50);
        }
    }

    private static async Task PollAsync(HttpClient http, string url, int batch, Func<Dictionary<string, int>, bool> done, string problem, Func<string> context)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var counts = await SendAsync(http, url, batch);
            if (done(counts))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{problem} 20 s later: {Show(counts)}\n{context()}");
            await Task.Delay(100);
        }
    }

    // Answers per x-upstream; a failed request counts under its status code.
    private static async Task<Dictionary<string, int>> SendAsync(HttpClient http, string url, int count, params (string Name, string Value)[] headers)
    {
        var answers = await RequestLoop.RunAsync(
            http,
            count,
            4,
            _ =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, url);
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                return request;
            },
            TimeSpan.FromSeconds(60));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            var key = answer.Status == 200 ? answer.Upstream ?? "(no x-upstream)" : answer.Status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts;
    }

    private static string Show(Dictionary<string, int> counts) =>
        "{" + string.Join(", ", counts.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => $"{c.Key}: {c.Value}")) + "}";
}
