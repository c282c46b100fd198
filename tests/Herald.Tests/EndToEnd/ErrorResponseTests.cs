using System.Diagnostics;
using System.Net;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Errors as Envoy users know them: status, body and stat.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class ErrorResponseTests
{
    public const string ConnectErrorBody = "upstream connect error or disconnect/reset before headers";

    [Fact(Timeout = 60_000)]
    public async Task UpstreamRefusesConnections_503WithEnvoyBodyAndConnectFailStat()
    {
        using var deadPort = FreePort.Refusing();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "dead"))
            .Cluster("dead", deadPort.Port, connectTimeout: "1s"));
        using var client = TestHttp.CreateClient();

        using var response = await client.GetAsync(herald.ListenerUrl("ingress") + "/x");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        // Envoy appends details such as ". reset reason: connection failure".
        Assert.StartsWith(ConnectErrorBody, body, StringComparison.Ordinal);
        var failures = await herald.WaitForStatAsync("cluster.dead.upstream_cx_connect_fail", v => v > 0);
        Assert.True(failures > 0, "cluster.dead.upstream_cx_connect_fail stayed 0");
    }

    [Fact(Timeout = 60_000)]
    public async Task NoRouteMatches_404AndDownstream4xxStat()
    {
        await using var upstream = await RecordingUpstream.StartAsync("up");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/api", "up"))
            .Cluster("up", upstream.Port));
        using var client = TestHttp.CreateClient();

        using var response = await client.GetAsync(herald.ListenerUrl("ingress") + "/elsewhere");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(0, upstream.Count);
        var count = await herald.WaitForStatAsync("http.ingress_http.downstream_rq_4xx", v => v >= 1);
        Assert.True(count >= 1, "http.ingress_http.downstream_rq_4xx stayed 0");
    }

    [Fact(Timeout = 60_000)]
    public async Task RouteTimeout_UpstreamHangs_504AfterTimeoutAndTimeoutStat()
    {
        await using var upstream = await RecordingUpstream.StartAsync("slow");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "slow", timeout: "1s"))
            .Cluster("slow", upstream.Port));
        using var client = TestHttp.CreateClient();
        var clock = Stopwatch.StartNew();

        using var response = await client.GetAsync(herald.ListenerUrl("ingress") + "/hang");
        clock.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(900) && clock.Elapsed < TimeSpan.FromSeconds(5), $"504 after {clock.Elapsed}");
        Assert.Equal(1, upstream.Count);
        var timeouts = await herald.WaitForStatAsync("cluster.slow.upstream_rq_timeout", v => v >= 1);
        Assert.True(timeouts >= 1, "cluster.slow.upstream_rq_timeout stayed 0");
    }
}
