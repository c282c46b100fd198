using System.Diagnostics;
using System.Globalization;
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds.Grpc;
using Xunit;

namespace Herald.Tests.Xds.Grpc;

/// <summary>Herald's gRPC client against Herald's gRPC server, over real h2c on loopback.</summary>
public sealed class GrpcLoopbackTests : IAsyncLifetime
{
    private readonly TestService _service = new();
    private GrpcServer _server = null!;
    private GrpcClient _client = null!;

    public async Task InitializeAsync()
    {
        _server = await GrpcServer.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), _service.CreateRegistry(maxReceiveMessageSize: 64 * 1024), CancellationToken.None);
        _client = new GrpcClient(new Uri($"http://127.0.0.1:{_server.BoundAddress.Port}"));
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Unary_Echo_ReturnsTheReply()
    {
        var reply = await _client.UnaryAsync(TestService.Echo, new StringValue { Value = "hello" }, StringValue.Parser);
        Assert.Equal("echo:hello", reply.Value);
    }

    [Fact]
    public async Task Duplex_Chat_ExposesHeadersTrailersAndStatus()
    {
        var call = _client.StartDuplex<StringValue, StringValue>(
            TestService.Chat,
            StringValue.Parser,
            new GrpcCallOptions { Metadata = [new("x-test", "7")] });
        await using (call)
        {
            await call.WriteAsync(new StringValue { Value = "one" }, CancellationToken.None);
            Assert.Equal("one", (await call.ReadAsync(CancellationToken.None))!.Value);
            Assert.NotNull(call.ResponseHeaders);
            Assert.Null(call.Status);
            await call.CompleteAsync();
            Assert.Null(await call.ReadAsync(CancellationToken.None));
            Assert.Equal(GrpcStatusCode.OK, call.Status!.Value.Code);
            Assert.Equal("1", Header(call.Trailers!, "x-count"));
        }
    }

    [Fact]
    public async Task Duplex_ThousandMessagesBothWaysConcurrently_AllArriveInOrder()
    {
        const int Count = 1000;

        // 4 KiB each: 4 MB per direction, far more than the HTTP/2 flow-control windows.
        var padding = new string('p', 4096);
        var call = _client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser);
        await using (call)
        {
            var writing = Task.Run(async () =>
            {
                for (var i = 0; i < Count; i++)
                {
                    await call.WriteAsync(new StringValue { Value = "m" + i.ToString(CultureInfo.InvariantCulture) + padding }, CancellationToken.None);
                }

                await call.CompleteAsync();
            });

            // Replies are read while requests are still being written: a half-duplex
            // transport would deadlock here once the write queue and windows fill.
            var received = 0;
            while (await call.ReadAsync(CancellationToken.None) is { } reply)
            {
                Assert.Equal("m" + received.ToString(CultureInfo.InvariantCulture) + padding, reply.Value);
                received++;
            }

            await writing;
            Assert.Equal(Count, received);
            Assert.Equal("1000", Header(call.Trailers!, "x-count"));
        }
    }

    [Fact]
    public async Task Duplex_RepliesArriveBeforeTheClientFinishesWriting()
    {
        var call = _client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser);
        await using (call)
        {
            for (var i = 0; i < 3; i++)
            {
                await call.WriteAsync(new StringValue { Value = "ping" }, CancellationToken.None);
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                Assert.Equal("ping", (await call.ReadAsync(timeout.Token))!.Value);
            }
        }
    }

    [Fact]
    public async Task Unary_HandlerThrowsGrpcException_StatusMessageAndTrailerReachTheClient()
    {
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            _client.UnaryAsync(TestService.Echo, new StringValue { Value = "fail:bad 100% ü\nnext line" }, StringValue.Parser));
        Assert.Equal(GrpcStatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal("bad 100% ü\nnext line", e.Status.Message);
        Assert.Contains(new KeyValuePair<string, string>("x-detail", "detail"), e.Trailers);
    }

    [Fact]
    public async Task Unary_HandlerCrashes_UnknownWithoutDetails()
    {
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            _client.UnaryAsync(TestService.Echo, new StringValue { Value = "crash" }, StringValue.Parser));
        Assert.Equal(GrpcStatusCode.Unknown, e.StatusCode);
        Assert.DoesNotContain("secret", e.Status.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Duplex_HandlerFailsAfterMessages_StatusComesInTrailers()
    {
        var call = _client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser);
        await using (call)
        {
            await call.WriteAsync(new StringValue { Value = "a" }, CancellationToken.None);
            Assert.Equal("a", (await call.ReadAsync(CancellationToken.None))!.Value);
            await call.WriteAsync(new StringValue { Value = "fail" }, CancellationToken.None);
            var e = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync(CancellationToken.None).AsTask());
            Assert.Equal(GrpcStatusCode.Aborted, e.StatusCode);
            Assert.Equal("chat failed", e.Status.Message);
            Assert.NotSame(call.ResponseHeaders, call.Trailers);

            // A finished call refuses writes with its status.
            var write = await Assert.ThrowsAsync<GrpcException>(() => call.WriteAsync(new StringValue { Value = "late" }, CancellationToken.None).AsTask());
            Assert.Equal(GrpcStatusCode.Aborted, write.StatusCode);
        }
    }

    [Fact]
    public async Task Duplex_UnknownMethod_TrailersOnlyUnimplemented()
    {
        var call = _client.StartDuplex<StringValue, StringValue>("/herald.grpctest.Test/Missing", StringValue.Parser);
        await using (call)
        {
            var e = await Assert.ThrowsAsync<GrpcException>(() => call.ReadAsync(CancellationToken.None).AsTask());
            Assert.Equal(GrpcStatusCode.Unimplemented, e.StatusCode);

            // The status came in the only HEADERS frame.
            Assert.Same(call.ResponseHeaders, call.Trailers);
        }
    }

    [Fact]
    public async Task Unary_Deadline_DeadlineExceededLocallyAndTheServerHandlerIsCancelled()
    {
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<GrpcException>(() => _client.UnaryAsync(
            TestService.Echo,
            new StringValue { Value = "sleep:20000" },
            StringValue.Parser,
            new GrpcCallOptions { Deadline = TimeSpan.FromMilliseconds(300) }));
        Assert.Equal(GrpcStatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");

        var (hadDeadline, cancelled) = await _service.SleepEnded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(hadDeadline, "grpc-timeout did not reach the server");
        Assert.True(cancelled, "the server handler was not cancelled");
    }

    [Fact]
    public async Task Duplex_Cancelled_CancelledAndTheServerSeesIt()
    {
        using var cancel = new CancellationTokenSource();
        var call = _client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser, new GrpcCallOptions { CancellationToken = cancel.Token });
        await using (call)
        {
            await call.WriteAsync(new StringValue { Value = "x" }, CancellationToken.None);
            Assert.Equal("x", (await call.ReadAsync(CancellationToken.None))!.Value);
            var pending = call.ReadAsync(CancellationToken.None).AsTask();
            await cancel.CancelAsync();
            var e = await Assert.ThrowsAsync<GrpcException>(() => pending);
            Assert.Equal(GrpcStatusCode.Cancelled, e.StatusCode);
            await _service.ChatCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    [Fact]
    public async Task Duplex_DisposedWhileRunning_ServerSeesTheReset()
    {
        var call = _client.StartDuplex<StringValue, StringValue>(TestService.Chat, StringValue.Parser);
        await call.WriteAsync(new StringValue { Value = "x" }, CancellationToken.None);
        Assert.Equal("x", (await call.ReadAsync(CancellationToken.None))!.Value);
        await call.DisposeAsync();
        Assert.Equal(GrpcStatusCode.Cancelled, call.Status!.Value.Code);
        await _service.ChatCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Unary_RequestOverTheServerLimit_ResourceExhausted()
    {
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            _client.UnaryAsync(TestService.Echo, new StringValue { Value = new string('a', 70 * 1024) }, StringValue.Parser));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task Unary_ResponseOverTheClientLimit_ResourceExhausted()
    {
        using var small = new GrpcClient(new Uri($"http://127.0.0.1:{_server.BoundAddress.Port}"), new GrpcClientOptions { MaxReceiveMessageSize = 1024 });
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            small.UnaryAsync(TestService.Echo, new StringValue { Value = new string('a', 2000) }, StringValue.Parser));
        Assert.Equal(GrpcStatusCode.ResourceExhausted, e.StatusCode);

        // The connection is still good for calls within the limit.
        Assert.Equal("echo:ok", (await small.UnaryAsync(TestService.Echo, new StringValue { Value = "ok" }, StringValue.Parser)).Value);
    }

    [Fact]
    public async Task Server_NonGrpcContentType_Http415()
    {
        using var http = new HttpClient(new SocketsHttpHandler());
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_server.BoundAddress.Port}{TestService.Echo}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent("hello"),
        };
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Client_NoServer_Unavailable()
    {
        using var client = new GrpcClient(new Uri("http://127.0.0.1:1"));
        var e = await Assert.ThrowsAsync<GrpcException>(() => client.UnaryAsync(TestService.Echo, new StringValue(), StringValue.Parser));
        Assert.Equal(GrpcStatusCode.Unavailable, e.StatusCode);
    }

    [Theory]
    [InlineData(404, GrpcStatusCode.Unimplemented)]
    [InlineData(503, GrpcStatusCode.Unavailable)]
    [InlineData(401, GrpcStatusCode.Unauthenticated)]
    [InlineData(403, GrpcStatusCode.PermissionDenied)]
    [InlineData(400, GrpcStatusCode.Internal)]
    [InlineData(500, GrpcStatusCode.Unknown)]
    public void FromHttpStatus_MapsPerTheSpec(int http, GrpcStatusCode expected) =>
        Assert.Equal(expected, GrpcStatus.FromHttpStatus(http).Code);

    private static string? Header(System.Net.Http.Headers.HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;
}
