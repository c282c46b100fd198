using System.Net;
using System.Text.Json.Nodes;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Cluster circuit_breakers: overflow fails at once, as Envoy answers.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class CircuitBreakerTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MaxRequests_SecondConcurrentRequest_503OverloadedAndOverflowStat(bool h2c)
    {
        await using var upstream = await RecordingUpstream.StartAsync("held");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        upstream.Handler = async context =>
        {
            await release.Task.WaitAsync(context.RequestAborted);
            context.Response.StatusCode = 200;
        };
        await using var herald = await HeraldProcess.StartAsync(() => Breakers(new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "held"))
            .Cluster("held", upstream.Port), new JsonObject { ["max_requests"] = 1 }));
        using var client = TestHttp.CreateClient();
        var url = herald.ListenerUrl("ingress") + "/x";

        var first = RetryTests.SendAsync(client, url, h2c);
        await WaitUntilAsync(() => upstream.Count == 1);
        using var second = await RetryTests.SendAsync(client, url, h2c);
        var body = await second.Content.ReadAsStringAsync();
        release.SetResult();
        using var firstResponse = await first;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal("true", string.Join(",", second.Headers.GetValues("x-envoy-overloaded")));
        Assert.Equal("upstream connect error or disconnect/reset before headers. reset reason: overflow", body);
        Assert.Equal(HttpStatusCode.OK, firstResponse.StatusCode);
        Assert.Equal(1, upstream.Count);
        Assert.Equal(1, await herald.WaitForStatAsync("cluster.held.upstream_rq_pending_overflow", v => v >= 1));
    }

    [Fact(Timeout = 60_000)]
    public async Task MaxRetriesZero_RetriableFailure_NotRetriedAndRetryOverflowCounted()
    {
        await using var upstream = await RecordingUpstream.StartAsync("broken");
        upstream.Handler = context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        };
        await using var herald = await HeraldProcess.StartAsync(() => Breakers(new BootstrapBuilder()
            .HttpListener("ingress", l => l.RawRoute(RetryTests.RetryRoute("/", "broken", "5xx", numRetries: 3)))
            .Cluster("broken", upstream.Port), new JsonObject { ["max_retries"] = 0 }));
        using var client = TestHttp.CreateClient();

        using var response = await client.GetAsync(herald.ListenerUrl("ingress") + "/x");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(1, upstream.Count);
        Assert.Equal(1, await herald.WaitForStatAsync("cluster.broken.upstream_rq_retry_overflow", v => v >= 1));
    }

    /// <summary>Adds circuit_breakers.thresholds[0] to every cluster of the bootstrap.</summary>
    private static BootstrapBuilder Breakers(BootstrapBuilder builder, JsonObject thresholds) =>
        builder.WithClusterField("circuit_breakers", new JsonObject { ["thresholds"] = new JsonArray(thresholds) });

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 500 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "condition never held");
    }
}
