using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>The admin endpoint after real traffic, with Envoy's stat names and formats.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class AdminEndpointTests
{
    private const int Requests = 7;

    [Fact(Timeout = 60_000)]
    public async Task AfterTraffic_StatsPrometheusConfigDumpAndClustersReportIt()
    {
        await using var upstream = await RecordingUpstream.StartAsync("backend");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "backend"))
            .Cluster("backend", upstream.Port));
        using var client = TestHttp.CreateClient();
        for (var i = 0; i < Requests; i++)
        {
            using var response = await client.GetAsync(herald.ListenerUrl("ingress") + "/r");
            response.EnsureSuccessStatusCode();
        }

        Assert.Equal(Requests, await herald.WaitForStatAsync("http.ingress_http.downstream_rq_total", v => v >= Requests));
        Assert.Equal(Requests, await herald.WaitForStatAsync("http.ingress_http.downstream_rq_2xx", v => v >= Requests));
        Assert.Equal(Requests, await herald.WaitForStatAsync("cluster.backend.upstream_rq_total", v => v >= Requests));
        Assert.Equal(Requests, await herald.WaitForStatAsync("cluster.backend.upstream_rq_2xx", v => v >= Requests));
        var stats = await herald.GetStatsAsync();
        // The client still holds its keep-alive connection, and herald its upstream one.
        Assert.True(await herald.GetStatAsync("http.ingress_http.downstream_cx_active") >= 1, "downstream_cx_active");
        Assert.True(await herald.GetStatAsync("cluster.backend.upstream_cx_active") >= 1, "upstream_cx_active");
        Assert.True(stats.ContainsKey("cluster.backend.upstream_rq_time"), "cluster.backend.upstream_rq_time missing from /stats");

        // Listener stats are named by the listener's address, as Envoy's: one keep-alive connection.
        var listener = $"listener.127.0.0.1_{herald.ListenerPort("ingress")}";
        Assert.Equal(1, await herald.GetStatAsync($"{listener}.downstream_cx_total"));
        Assert.Equal(1, await herald.GetStatAsync($"{listener}.downstream_cx_active"));

        var prometheus = await herald.GetAdminAsync("/stats/prometheus");
        Assert.Matches(new Regex($"(?m)^envoy_cluster_upstream_rq_total\\{{envoy_cluster_name=\"backend\"\\}} {Requests}$"), prometheus);

        var configDump = await herald.GetAdminAsync("/config_dump");
        using (var json = JsonDocument.Parse(configDump))
        {
            Assert.Equal(JsonValueKind.Object, json.RootElement.ValueKind);
        }

        Assert.Contains("\"ingress\"", configDump, StringComparison.Ordinal);
        Assert.Contains("\"backend\"", configDump, StringComparison.Ordinal);

        var clusters = await herald.GetAdminAsync("/clusters");
        Assert.Contains($"backend::127.0.0.1:{upstream.Port}", clusters, StringComparison.Ordinal);
    }
}
