using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// A proxyless gRPC client, @grpc/grpc-js-xds from npm, resolves <c>xds:///greeter</c>
/// through <c>herald control-plane</c> and calls real @grpc/grpc-js servers registered
/// through the registry API: Herald's resources must pass a third-party xDS client's
/// validation, and the client must follow weight changes and deregistrations live.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class GrpcJsXdsTests
{
    private const string Mesh = """
        services:
          - name: greeter
            ports: [{port: 50051, protocol: grpc}]
            subsets:
              - {name: v1, labels: {track: v1}, version: 1.0.0}
              - {name: v2, labels: {track: v2}, version: 2.0.0}
            routing:
              rules:
                - split: [{subset: v1, weight: 50}, {subset: v2, weight: 50}]
        """;

    [Fact(Timeout = 240_000)]
    public async Task GrpcJsXdsClient_ResolvesGreeterThroughHerald_FollowsSplitWeightChangeAndDeregistration()
    {
        using var mesh = new MeshFile(Mesh);
        await using var controlPlane = await ControlPlaneProcess.StartAsync(mesh.Path);

        // v1 has two instances (g1a, g1b), v2 one (g2): a deregistered v1 instance can stop
        // receiving calls while its subset keeps serving.
        await using var g1a = await XdsNodePeers.StartGreeterAsync("g1a");
        await using var g1b = await XdsNodePeers.StartGreeterAsync("g1b");
        await using var g2 = await XdsNodePeers.StartGreeterAsync("g2");
        await controlPlane.RegisterAsync("greeter", g1a.Port, new Dictionary<string, string> { ["track"] = "v1" }, "1.0.0");
        var g1bId = await controlPlane.RegisterAsync("greeter", g1b.Port, new Dictionary<string, string> { ["track"] = "v1" }, "1.0.0");
        await controlPlane.RegisterAsync("greeter", g2.Port, new Dictionary<string, string> { ["track"] = "v2" }, "2.0.0");

        await using var client = await XdsNodePeers.StartXdsClientAsync("greeter", controlPlane.XdsAddress, "grpc-js-xds-e2e");
        string Context(GreeterClient.Tally tally) =>
            $"{tally}\n{Hint(tally)}--- what @grpc/grpc-js-xds complained about ---\n{client.Complaints()}\n" +
            $"--- the last EDS resource it decoded ---\n{client.LastDecodedEndpoints()}\n--- client ---\n{client.Transcript()}\n--- {controlPlane.Transcript()}";

        // 50/50 between v1 (g1a + g1b) and v2 (g2). 400 calls: 3 standard deviations is ±30.
        var split = await client.CallAsync(400);
        Assert.True(split.Failed == 0, "calls through xds:///greeter failed: Herald's xDS resources were not usable by @grpc/grpc-js-xds.\n" + Context(split));
        var v1 = split.Of("g1a") + split.Of("g1b");
        Assert.InRange(v1, 140, 260);
        Assert.InRange(split.Of("g2"), 140, 260);
        Assert.True(split.Of("g1a") > 0 && split.Of("g1b") > 0, "both v1 instances should be reached: " + split);

        // Weights to 100/0: the running client follows.
        mesh.Replace("weight: 50}, {subset: v2, weight: 50}", "weight: 100}, {subset: v2, weight: 0}");
        await PollAsync(client, 20, t => t.Failed == 0 && t.Of("g2") == 0, "after the weights went to 100/0, g2 (v2) was still reached", Context);
        var allV1 = await client.CallAsync(200);
        Assert.True(allV1.Failed == 0 && allV1.Of("g2") == 0, "100/0 split: " + Context(allV1));
        Assert.True(allV1.Of("g1a") > 0 && allV1.Of("g1b") > 0, "both v1 instances should be reached: " + allV1);

        // Deregistering g1b takes it out of the client's endpoints; g1a keeps answering.
        await controlPlane.DeregisterAsync(g1bId);
        await PollAsync(client, 20, t => t.Failed == 0 && t.Of("g1b") == 0, "after g1b was deregistered it was still reached", Context);
        var afterDeregister = await client.CallAsync(100);
        Assert.True(afterDeregister.Failed == 0 && afterDeregister.Of("g1a") == 100, "after deregistering g1b: " + Context(afterDeregister));
    }

    // gRPC (gRFC A27) ignores an EDS locality whose load_balancing_weight is unset or 0; with
    // every locality ignored, the priority policy has nothing and every call fails.
    private static string Hint(GreeterClient.Tally tally) =>
        tally.Errors.Any(e => e.Contains("empty priority list", StringComparison.Ordinal))
            ? "hint: @grpc/grpc-js-xds keeps only EDS localities with a load_balancing_weight above 0: every locality was dropped.\n"
            : string.Empty;

    // Calls batches until one satisfies the condition; fails with the last batch after 20 s.
    private static async Task PollAsync(GreeterClient client, int batch, Func<GreeterClient.Tally, bool> done, string problem, Func<GreeterClient.Tally, string> context)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var tally = await client.CallAsync(batch);
            if (done(tally))
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{problem} 20 s later.\n{context(tally)}");
        }
    }
}
