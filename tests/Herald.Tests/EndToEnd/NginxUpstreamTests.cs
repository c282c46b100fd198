using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>Debian's nginx as the upstream behind herald.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class NginxUpstreamTests
{
    [Fact(Timeout = 60_000)]
    public async Task Get_ThroughHeraldToNginx_ReturnsNginxResponse()
    {
        await using var nginx = await NginxUpstream.StartAsync();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("ingress", l => l.Route("/", "nginx"))
            .Cluster("nginx", nginx.Port));
        var url = herald.ListenerUrl("ingress");

        var small = await Curl.RunAsync("-w", "%{http_code}", $"{url}/");
        var big = await Curl.RunAsync("-o", "/dev/null", "-w", "%{http_code} %{size_download}", $"{url}/big");

        Assert.True(small.ExitCode == 0, small.ToString());
        Assert.Equal(NginxUpstream.Body + "200", small.Stdout);
        Assert.Equal($"200 {NginxUpstream.BigSize}", big.Stdout);
    }
}
