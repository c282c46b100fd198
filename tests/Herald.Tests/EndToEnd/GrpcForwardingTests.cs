using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd;

/// <summary>@grpc/grpc-js client -> herald -> @grpc/grpc-js server.</summary>
[Collection(EndToEndCollection.Name)]
public sealed class GrpcForwardingTests
{
    [Theory(Timeout = 120_000)]
    [InlineData(null)]
    [InlineData("HTTP2")]
    public async Task AllCallKinds_ThroughHerald_StatusMetadataAndTrailersIntact(string? codec)
    {
        await using var server = await NodePeers.StartGrpcServerAsync();
        await using var herald = await HeraldProcess.StartAsync(() => new BootstrapBuilder()
            .HttpListener("grpc", l =>
            {
                l.Codec = codec;
                l.Route("/", "echo");
            })
            .Cluster("echo", server.Port, http2: true));

        var result = await NodePeers.RunGrpcClientAsync($"127.0.0.1:{herald.ListenerPort("grpc")}");

        Assert.True(result.Problems.Count == 0, string.Join('\n', result.Problems) + "\n" + result + "\n" + herald.Transcript());
        Assert.Equal(0, result.Process.ExitCode);
        var json = result.Result;
        foreach (var kind in new[] { "unary", "serverStream", "clientStream", "bidi" })
        {
            Assert.Equal(0, json.GetProperty(kind).GetProperty("code").GetInt32());
            Assert.Equal("grpc-js", json.GetProperty(kind).GetProperty("headers").GetProperty("x-client").GetString());
        }

        foreach (var failure in new[] { "failure", "failureTrailersOnly" })
        {
            var call = json.GetProperty(failure);
            Assert.Equal(5, call.GetProperty("code").GetInt32());
            Assert.Equal("no such thing", call.GetProperty("details").GetString());
            Assert.Equal("gone", call.GetProperty("trailers").GetProperty("x-detail").GetString());
        }
    }
}
