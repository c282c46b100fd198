using System.Diagnostics;
using System.Text.Json.Nodes;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;
using Xunit.Abstractions;

namespace Herald.Tests.EndToEnd;

/// <summary>
/// Issue #6's chaos run: three upstream instances under a 30 s load; one is killed, another
/// turns slow. With retries (per-try timeout, other host) and outlier detection on, no client
/// request fails, and the killed instance is ejected within its detection window.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class ChaosTests(ITestOutputHelper output)
{
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DetectionWindow = TimeSpan.FromSeconds(3);

    [Fact(Timeout = 120_000)]
    public async Task Load_OneInstanceKilledOneSlow_NoFailedRequestAndKilledInstanceEjected()
    {
        await using var steady = await RecordingUpstream.StartAsync("steady");
        var doomed = await RecordingUpstream.StartAsync("doomed");
        await using var slowing = await RecordingUpstream.StartAsync("slowing");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.RawRoute(new JsonObject
            {
                ["match"] = new JsonObject { ["prefix"] = "/" },
                ["route"] = new JsonObject
                {
                    ["cluster"] = "web",
                    ["timeout"] = "5s",
                    ["retry_policy"] = new JsonObject
                    {
                        ["retry_on"] = "5xx,reset,connect-failure,gateway-error",
                        ["num_retries"] = 3,
                        ["per_try_timeout"] = "0.5s",
                    },
                },
            }))
            .Cluster("web", [steady.Port, doomed.Port, slowing.Port])

            // Four clients can all be retrying at the moment an instance dies: allow it.
            .WithClusterField("circuit_breakers", new JsonObject { ["thresholds"] = new JsonArray(new JsonObject { ["max_retries"] = 16 }) })
            .WithClusterField("outlier_detection", new JsonObject
            {
                ["consecutive_gateway_failure"] = 3,
                ["enforcing_consecutive_gateway_failure"] = 100,
                ["consecutive_5xx"] = 3,
                ["interval"] = "0.5s",
                ["base_ejection_time"] = "30s",
                ["max_ejection_percent"] = 67,
            }));
        using var client = TestHttp.CreateClient();
        var url = herald.ListenerUrl("ingress") + "/chaos";

        // Warm up first (a cold process can take longer than the per-try timeout): every
        // instance has answered before the measured load starts.
        var warmup = Stopwatch.StartNew();
        while (steady.Count == 0 || doomed.Count == 0 || slowing.Count == 0)
        {
            Assert.True(warmup.Elapsed < TimeSpan.FromSeconds(20), "the instances did not all answer during the warm-up");
            using var response = await client.GetAsync(url);
        }

        var stopwatch = Stopwatch.StartNew();
        var failures = new List<string>();
        long succeeded = 0;
        using var stop = new CancellationTokenSource(LoadDuration);
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync(url, CancellationToken.None);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref succeeded);
                    }
                    else
                    {
                        var body = await response.Content.ReadAsStringAsync();
                        lock (failures)
                        {
                            failures.Add($"{stopwatch.Elapsed.TotalSeconds:F1}s: {(int)response.StatusCode} {body}");
                        }
                    }
                }
                catch (HttpRequestException e)
                {
                    lock (failures)
                    {
                        failures.Add($"{stopwatch.Elapsed.TotalSeconds:F1}s: {e.Message}");
                    }
                }
            }
        })).ToArray();

        // Once the load runs, kill one instance: connections to it are refused from now on.
        await WaitForAsync(() => Interlocked.Read(ref succeeded) >= 300, "the load to get going");
        await doomed.DisposeAsync();
        var killedAt = stopwatch.Elapsed;
        var ejected = await herald.WaitForStatAsync("cluster.web.outlier_detection.ejections_active", v => v >= 1, DetectionWindow + TimeSpan.FromSeconds(2)) >= 1;
        var ejectedAfter = stopwatch.Elapsed - killedAt;

        // A while later, make another one slow: every answer takes longer than the per-try timeout.
        var before = Interlocked.Read(ref succeeded);
        await WaitForAsync(() => Interlocked.Read(ref succeeded) >= before + 300, "the load to go on after the kill");
        slowing.Handler = async context =>
        {
            await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted);
            context.Response.StatusCode = 200;
            await context.Response.Body.WriteAsync("slow"u8.ToArray(), context.RequestAborted);
        };

        await Task.WhenAll(workers);
        var stats = await herald.GetStatsAsync();
        string Show(string name) => $"{name}={stats.GetValueOrDefault(name)}";
        var summary = string.Join(", ", new[]
        {
            "cluster.web.upstream_rq_retry", "cluster.web.upstream_rq_retry_success", "cluster.web.upstream_rq_retry_overflow",
            "cluster.web.upstream_rq_retry_limit_exceeded", "cluster.web.upstream_rq_per_try_timeout", "cluster.web.upstream_rq_timeout",
            "cluster.web.outlier_detection.ejections_enforced_total", "cluster.web.outlier_detection.ejections_active",
        }.Select(Show));
        output.WriteLine($"{succeeded} requests succeeded in {LoadDuration.TotalSeconds} s; killed instance ejected {ejectedAfter.TotalSeconds:F2} s after its death; {summary}");

        Assert.True(failures.Count == 0, $"{failures.Count} requests failed (of {succeeded + failures.Count}):\n{string.Join('\n', failures.Take(20))}\n{summary}");
        Assert.True(succeeded > 100, $"only {succeeded} requests in {LoadDuration}");
        Assert.True(ejected && ejectedAfter <= DetectionWindow, $"the killed instance was not ejected within {DetectionWindow} ({ejectedAfter}); {summary}");
        Assert.True(steady.Count > 0, "the steady instance served nothing");

        async Task WaitForAsync(Func<bool> condition, string what)
        {
            var deadline = Stopwatch.StartNew();
            while (!condition())
            {
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(20), $"timed out waiting for {what}; failures so far: {failures.Count}");
                await Task.Delay(20);
            }
        }
    }
}
