using System.Diagnostics;
using System.Globalization;
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds.Grpc;
using Xunit;

namespace Herald.Tests.Xds.Grpc;

/// <summary>
/// Herald's gRPC client and server against a real third-party stack: @grpc/grpc-js (Node),
/// loading node/test-schema.js at run time. Fails when node or npm is missing.
/// </summary>
public sealed class GrpcNodePeerTests
{
    [Fact]
    public async Task HeraldClient_NodeServer_UnaryWithHeadersAndTrailers()
    {
        var (node, port) = await NodeGrpcPeer.StartServerAsync();
        using (node)
        using (var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}")))
        {
            var reply = await client.UnaryAsync(TestService.Echo, new StringValue { Value = "hi" }, StringValue.Parser);
            Assert.Equal("echo:hi", reply.Value);

            var call = client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser, new GrpcCallOptions { Metadata = [new("x-test", "abc")] });
            await using (call)
            {
                await call.CompleteAsync();
                Assert.Null(await call.ReadAsync(CancellationToken.None));
                Assert.True(call.ResponseHeaders!.NonValidated.TryGetValues("x-test", out var echoed), node.Transcript());
                Assert.Equal("abc", echoed.ToString());
                Assert.Equal("0", Header(call.Trailers!, "x-count"));
            }
        }
    }

    [Fact]
    public async Task HeraldClient_NodeServer_BidiThousandMessagesConcurrently()
    {
        const int Count = 1000;
        var (node, port) = await NodeGrpcPeer.StartServerAsync();
        using (node)
        using (var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}")))
        {
            var call = client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser);
            await using (call)
            {
                var writing = Task.Run(async () =>
                {
                    for (var i = 0; i < Count; i++)
                    {
                        await call.WriteAsync(new StringValue { Value = "m" + i.ToString(CultureInfo.InvariantCulture) }, CancellationToken.None);
                    }

                    await call.CompleteAsync();
                });
                var received = 0;
                while (await call.ReadAsync(CancellationToken.None) is { } reply)
                {
                    Assert.Equal("m" + received.ToString(CultureInfo.InvariantCulture), reply.Value);
                    received++;
                }

                await writing;
                Assert.Equal(Count, received);
                Assert.Equal(GrpcStatusCode.OK, call.Status!.Value.Code);
                Assert.Equal("1000", Header(call.Trailers!, "x-count"));
            }
        }
    }

    [Fact]
    public async Task HeraldClient_NodeServer_ErrorStatusesMessagesAndTrailers()
    {
        var (node, port) = await NodeGrpcPeer.StartServerAsync();
        using (node)
        using (var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}")))
        {
            var e = await Assert.ThrowsAsync<GrpcException>(() =>
                client.UnaryAsync(TestService.Echo, new StringValue { Value = "fail:bad 100% ü" }, StringValue.Parser));
            Assert.Equal(GrpcStatusCode.InvalidArgument, e.StatusCode);
            Assert.Equal("bad 100% ü", e.Status.Message);
            Assert.Contains(new KeyValuePair<string, string>("x-detail", "detail"), e.Trailers);

            var call = client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser);
            await using (call)
            {
                await call.WriteAsync(new StringValue { Value = "fail" }, CancellationToken.None);
                var chat = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync(CancellationToken.None).AsTask());
                Assert.Equal(GrpcStatusCode.Aborted, chat.StatusCode);
                Assert.Equal("chat failed", chat.Status.Message);
            }

            var missing = await Assert.ThrowsAsync<GrpcException>(() =>
                client.UnaryAsync("/herald.grpctest.Test/Missing", new StringValue(), StringValue.Parser));
            Assert.Equal(GrpcStatusCode.Unimplemented, missing.StatusCode);
        }
    }

    [Fact]
    public async Task HeraldClient_NodeServer_DeadlineExceeded()
    {
        var (node, port) = await NodeGrpcPeer.StartServerAsync();
        using (node)
        using (var client = new GrpcClient(new Uri($"http://127.0.0.1:{port}")))
        {
            var watch = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<GrpcException>(() => client.UnaryAsync(
                TestService.Echo,
                new StringValue { Value = "sleep:20000" },
                StringValue.Parser,
                new GrpcCallOptions { Deadline = TimeSpan.FromMilliseconds(300) }));
            Assert.Equal(GrpcStatusCode.DeadlineExceeded, e.StatusCode);
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");

            // The connection survives the reset stream.
            Assert.Equal("echo:after", (await client.UnaryAsync(TestService.Echo, new StringValue { Value = "after" }, StringValue.Parser)).Value);
        }
    }

    [Fact]
    public async Task NodeClient_HeraldServer_UnaryBidiErrorAndDeadline()
    {
        var service = new TestService();
        await using var server = await GrpcServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), service.CreateRegistry(), CancellationToken.None);
        var report = await NodeGrpcPeer.RunClientAsync($"127.0.0.1:{server.BoundAddress.Port}");
        var text = report.ToString();

        var unary = report.GetProperty("unary");
        Assert.True(unary.GetProperty("code").GetInt32() == 0, text);
        Assert.Equal("echo:hello", unary.GetProperty("value").GetString());
        Assert.Equal("1", unary.GetProperty("header").GetString());
        Assert.Equal("herald", unary.GetProperty("trailer").GetString());

        var bidi = report.GetProperty("bidi");
        Assert.True(bidi.GetProperty("code").GetInt32() == 0, text);
        Assert.Equal(200, bidi.GetProperty("count").GetInt32());
        Assert.True(bidi.GetProperty("ordered").GetBoolean(), text);
        Assert.Equal("200", bidi.GetProperty("trailer").GetString());

        var error = report.GetProperty("error");
        Assert.Equal((int)GrpcStatusCode.InvalidArgument, error.GetProperty("code").GetInt32());
        Assert.Equal("bad input 100% ü", error.GetProperty("details").GetString());
        Assert.Equal("detail", error.GetProperty("detail").GetString());

        var deadline = report.GetProperty("deadline");
        Assert.Equal((int)GrpcStatusCode.DeadlineExceeded, deadline.GetProperty("code").GetInt32());
        Assert.InRange(deadline.GetProperty("elapsed_ms").GetInt32(), 250, 5000);

        // The Node client's grpc-timeout reached the handler and cancelled it.
        var (hadDeadline, cancelled) = await service.SleepEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(hadDeadline, "grpc-timeout did not reach the server");
        Assert.True(cancelled, "the server handler was not cancelled");
    }

    private static string? Header(System.Net.Http.Headers.HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;
}
