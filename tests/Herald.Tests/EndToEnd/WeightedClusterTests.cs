using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>weighted_clusters split traffic by weight.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class WeightedClusterTests
{
    [Fact(Timeout = 180_000)]
    public async Task EightyTwenty_10000Requests_SplitWithinThreePercent()
    {
        const int Requests = 10_000;
        await using var a = await RecordingUpstream.StartAsync("a");
        await using var b = await RecordingUpstream.StartAsync("b");
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.WeightedRoute("/", ("a", 80), ("b", 20)))
            .Cluster("a", a.Port)
            .Cluster("b", b.Port));
        using var client = TestHttp.CreateClient(maxConnections: 8);
        var url = herald.ListenerUrl("ingress") + "/split";

        var answers = await RequestLoop.RunAsync(client, Requests, 8, _ => new HttpRequestMessage(HttpMethod.Get, url), TimeSpan.FromSeconds(150));

        Assert.All(answers, answer => Assert.Equal(200, answer.Status));
        Assert.Equal(Requests, a.Count + b.Count);
        var shareA = a.Count / (double)Requests;
        Assert.True(shareA is >= 0.77 and <= 0.83, $"cluster a got {a.Count} of {Requests} ({shareA:P1}), b got {b.Count}");
    }
}
