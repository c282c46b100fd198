using System.Buffers.Binary;
using System.Text.Json.Nodes;
using Herald.Tests.TestSupport.EndToEnd;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Active health checks in a real herald process against real upstreams.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class HealthCheckEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact(Timeout = 90_000)]
    public async Task HttpHealthCheck_FailingUpstream_TrafficAvoidsItThenReturns()
    {
        await using var upstreams = await Upstreams.StartAsync(2);
        var healthy = 1;
        var flaky = upstreams.All[1];
        flaky.Handler = context =>
        {
            context.Response.StatusCode = context.Request.Path == "/healthz" && Volatile.Read(ref healthy) == 0 ? 503 : 200;
            return Task.CompletedTask;
        };
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "pool"))
            .Cluster("pool", upstreams.Ports)
            .ClusterField("pool", "health_checks", HealthChecks(new JsonObject { ["http_health_check"] = new JsonObject { ["path"] = "/healthz" } })));
        using var client = TestHttp.CreateClient();
        var url = herald.ListenerUrl("ingress") + "/work";

        Assert.Equal(2, await herald.WaitForStatAsync("cluster.pool.health_check.healthy", v => v == 2, Wait));
        Assert.Contains(flaky.Name, await UpstreamsOfAsync(client, url, 20));

        Volatile.Write(ref healthy, 0);
        Assert.Equal(1, await herald.WaitForStatAsync("cluster.pool.health_check.healthy", v => v == 1, Wait));
        Assert.Equal([upstreams.All[0].Name], await UpstreamsOfAsync(client, url, 20));
        Assert.True(await herald.GetStatAsync("cluster.pool.health_check.failure") >= 1);

        Volatile.Write(ref healthy, 1);
        Assert.Equal(2, await herald.WaitForStatAsync("cluster.pool.health_check.healthy", v => v == 2, Wait));
        Assert.Contains(flaky.Name, await UpstreamsOfAsync(client, url, 20));
        Assert.Contains(flaky.Requests, r => r.Path == "/healthz" && r.Headers.Any(h => h.Key == "host" && h.Value == "pool"));
    }

    [Fact(Timeout = 90_000)]
    public async Task TcpHealthCheck_ClosedPort_IsUnhealthyAndNeverPicked()
    {
        await using var live = await RecordingUpstream.StartAsync("live");
        using var closed = FreePort.Refusing();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "pool"))
            .Cluster("pool", [live.Port, closed.Port])
            .ClusterField("pool", "health_checks", HealthChecks(new JsonObject { ["tcp_health_check"] = new JsonObject() })));
        using var client = TestHttp.CreateClient();

        Assert.True(await herald.WaitForStatAsync("cluster.pool.health_check.network_failure", v => v >= 1, Wait) >= 1);
        Assert.Equal(1, await herald.GetStatAsync("cluster.pool.health_check.healthy"));
        Assert.Equal(1, await herald.GetStatAsync("cluster.pool.membership_healthy"));
        Assert.Equal(["live"], await UpstreamsOfAsync(client, herald.ListenerUrl("ingress") + "/tcp", 10));
    }

    [Fact(Timeout = 90_000)]
    public async Task GrpcHealthCheck_ServingThenNotServing_FollowsTheStatus()
    {
        await using var upstream = await RecordingUpstream.StartAsync("grpc");
        var serving = 1;
        upstream.Handler = async context =>
        {
            if (context.Request.Path != "/grpc.health.v1.Health/Check")
            {
                context.Response.StatusCode = 200;
                return;
            }

            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            var asked = System.Text.Encoding.UTF8.GetString(body.ToArray().AsSpan(5 + 2));
            var status = asked == "shop.Cart" && Volatile.Read(ref serving) == 1 ? 1 : 2;
            context.Response.ContentType = "application/grpc";
            var frame = new byte[7];
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), 2);
            frame[5] = 0x08;
            frame[6] = (byte)status;
            await context.Response.Body.WriteAsync(frame);
            context.Response.AppendTrailer("grpc-status", "0");
        };
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "carts"))
            .Cluster("carts", upstream.H2cPort, http2: true)
            .ClusterField("carts", "health_checks", HealthChecks(new JsonObject { ["grpc_health_check"] = new JsonObject { ["service_name"] = "shop.Cart" } })));
        using var client = TestHttp.CreateClient();
        var url = herald.ListenerUrl("ingress") + "/cart";

        Assert.Equal(1, await herald.WaitForStatAsync("cluster.carts.health_check.healthy", v => v == 1, Wait));
        Assert.Equal(200, (int)(await client.GetAsync(url)).StatusCode);

        Volatile.Write(ref serving, 0);
        Assert.Equal(0, await herald.WaitForStatAsync("cluster.carts.health_check.healthy", v => v == 0, Wait));
        Assert.Equal(503, (int)(await client.GetAsync(url)).StatusCode);

        Volatile.Write(ref serving, 1);
        Assert.Equal(1, await herald.WaitForStatAsync("cluster.carts.health_check.healthy", v => v == 1, Wait));
        Assert.Equal(200, (int)(await client.GetAsync(url)).StatusCode);
    }

    private static JsonArray HealthChecks(JsonObject checker)
    {
        var check = new JsonObject
        {
            ["timeout"] = "1s",
            ["interval"] = "0.2s",
            ["no_traffic_interval"] = "0.2s",
            ["unhealthy_threshold"] = 2,
            ["healthy_threshold"] = 2,
        };
        foreach (var (key, value) in checker)
        {
            check[key] = value?.DeepClone();
        }

        return [check];
    }

    private static async Task<string[]> UpstreamsOfAsync(HttpClient client, string url, int requests)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < requests; i++)
        {
            using var response = await client.GetAsync(url);
            Assert.Equal(200, (int)response.StatusCode);
            seen.Add(response.Headers.TryGetValues("x-upstream", out var values) ? values.First() : "(none)");
        }

        return [.. seen];
    }
}
