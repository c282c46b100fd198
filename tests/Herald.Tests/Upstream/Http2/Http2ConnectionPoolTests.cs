using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Text;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Upstream;
using Herald.Proxy.Upstream.Http2;
using Herald.Tests.TestSupport;
using Herald.Tests.TestSupport.EndToEnd;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace Herald.Tests.Upstream.Http2;

/// <summary>
/// Herald's own h2c client, through its pool: against a real Kestrel h2c server for what a
/// real peer does, and against <see cref="RawHttp2Server"/> for what none will do on demand
/// (pings, split and compressed heads, resets, GOAWAY, protocol violations, flow control).
/// </summary>
public sealed class Http2ConnectionPoolTests
{
    private const int ClientStreamWindow = 256 * 1024;

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    // What a Kestrel handler observes runs on the thread pool, which the full suite's start can
    // keep busy for seconds (a 10 s wait for RequestAborted timed out once there, never alone).
    private static readonly TimeSpan ServerObservationTimeout = TimeSpan.FromSeconds(30);

    // ---- Against Kestrel -------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(1024 * 1024)]
    public async Task SendAsync_GetFromKestrel_StatusHeadersAndBodyArrive(int length)
    {
        var expected = Pattern(length);
        string[] names = [];
        string? authority = null;
        string? pathAndQuery = null;
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            names = [.. context.Request.Headers.Keys];
            authority = context.Request.Host.Value;
            pathAndQuery = context.Request.Path + context.Request.QueryString;
            context.Response.StatusCode = 203;
            context.Response.Headers["x-answer"] = "forty-two";
            context.Response.ContentType = "application/x-test";
            await context.Response.Body.WriteAsync(expected);
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/thing?q=1");
        request.Headers.TryAddWithoutValidation("X-Mixed-Case", "Value");
        request.Headers.Host = "example.test:8443";

        using var response = await pool.SendAsync(request, cts.Token);
        var body = await ReadAllAsync(response, cts.Token);

        Assert.Equal(HttpStatusCode.NonAuthoritativeInformation, response.StatusCode);
        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("forty-two", Assert.Single(response.Headers.GetValues("x-answer")));
        Assert.False(response.Headers.NonValidated.Contains("content-type"));
        Assert.Equal("application/x-test", response.Content.Headers.ContentType?.MediaType);
        AssertBytes(expected, body);
        Assert.Contains("x-mixed-case", names);
        Assert.Equal("example.test:8443", authority);
        Assert.Equal("/thing?q=1", pathAndQuery);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(1024 * 1024)]
    public async Task SendAsync_PostToKestrel_BodyArrivesAndEchoesIntact(int length)
    {
        var payload = Pattern(length);
        long received = -1;
        string? contentType = null;
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            contentType = context.Request.ContentType;
            using var copy = new MemoryStream();
            await context.Request.Body.CopyToAsync(copy);
            received = copy.Length;
            context.Response.ContentType = "application/octet-stream";
            await context.Response.Body.WriteAsync(copy.ToArray());
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new("application/x-upload");
        using var request = Request(HttpMethod.Post, server.EndPoint, "/echo", content);

        using var response = await pool.SendAsync(request, cts.Token);
        var body = await ReadAllAsync(response, cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(length, received);
        Assert.Equal("application/x-upload", contentType);
        AssertBytes(payload, body);
    }

    [Fact]
    public async Task SendAsync_KestrelSendsTrailers_TrailingHeadersAfterBodyEnd()
    {
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            context.Response.DeclareTrailer("grpc-status");
            await context.Response.WriteAsync("payload");
            context.Response.AppendTrailer("grpc-status", "0");
            context.Response.AppendTrailer("grpc-message", "fine");
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        using var response = await pool.SendAsync(request, cts.Token);
        var body = await ReadAllAsync(response, cts.Token);

        Assert.Equal("payload", Encoding.ASCII.GetString(body));
        Assert.Equal("0", Assert.Single(response.TrailingHeaders.GetValues("grpc-status")));
        Assert.Equal("fine", Assert.Single(response.TrailingHeaders.GetValues("grpc-message")));
        Assert.False(response.Headers.Contains("grpc-status"));
    }

    [Fact]
    public async Task SendAsync_KestrelTrailersOnlyResponse_EmptyBodyAndStatusInHead()
    {
        await using var server = await H2cKestrel.StartAsync(context =>
        {
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "12";
            return Task.CompletedTask;
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Post, server.EndPoint, "/svc/Method", new ByteArrayContent([0, 0, 0, 0, 0]));

        using var response = await pool.SendAsync(request, cts.Token);
        var body = await ReadAllAsync(response, cts.Token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(body);
        Assert.Equal("12", Assert.Single(response.Headers.GetValues("grpc-status")));
    }

    [Fact]
    public async Task SendAsync_FiftyConcurrentOverStreamLimitFive_AllSucceedOnSeveralConnections()
    {
        await using var server = await H2cKestrel.StartAsync(
            async context =>
            {
                // A slow upstream: streams stay open long enough to pile up.
                await Task.Delay(100, context.RequestAborted);
                await context.Response.WriteAsync("ok");
            },
            options => options.Limits.Http2.MaxStreamsPerConnection = 5);
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            try
            {
                using var request = Request(HttpMethod.Get, server.EndPoint, $"/{i}");
                using var response = await pool.SendAsync(request, cts.Token);
                var body = Encoding.ASCII.GetString(await ReadAllAsync(response, cts.Token));
                return $"{(int)response.StatusCode} {body}";
            }
            catch (Exception e)
            {
                return $"{e.GetType().Name}: {e.Message} / {FindProtocolException(e)?.ErrorCode}";
            }
        }));

        var failures = outcomes.Where(o => o != "200 ok").ToList();
        Assert.True(failures.Count == 0, $"{failures.Count} of 50 failed, e.g. {failures.FirstOrDefault()}");
        Assert.InRange(server.RequestConnections.Count, 2, 49);
        Assert.InRange(pool.ConnectionCount, 2, 49);
    }

    [Fact]
    public async Task SendAsync_SequentialRequests_ReuseOneConnection()
    {
        await using var server = await H2cKestrel.StartAsync(context => context.Response.WriteAsync("ok"));
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("ok", await GetTextAsync(pool, server.EndPoint, $"/{i}", cts.Token));
        }

        Assert.Equal(1, pool.ConnectionCount);
        Assert.Equal(1, server.ConnectionsOpened);
        Assert.Equal(5, Assert.Single(server.RequestConnections).Value);
    }

    [Fact]
    public async Task SendAsync_CanceledBeforeHead_ThrowsPromptlyServerAbortedConnectionReusable()
    {
        var arrived = NewSignal();
        var aborted = NewSignal();
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            if (context.Request.Path == "/hold")
            {
                using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
                arrived.TrySetResult();
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The client gave up: that is the point.
                }

                return;
            }

            await context.Response.WriteAsync("after");
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource();
        using var held = Request(HttpMethod.Get, server.EndPoint, "/hold");

        var send = pool.SendAsync(held, cts.Token).AsTask();
        await arrived.Task.WaitAsync(Timeout);
        var clock = Stopwatch.StartNew();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => send.WaitAsync(Timeout));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"SendAsync took {clock.Elapsed} to notice the cancellation");
        await aborted.Task.WaitAsync(ServerObservationTimeout);

        using var timeout = new CancellationTokenSource(Timeout);
        using var next = Request(HttpMethod.Get, server.EndPoint, "/next");
        using var response = await pool.SendAsync(next, timeout.Token);
        Assert.Equal("after", Encoding.ASCII.GetString(await ReadAllAsync(response, timeout.Token)));
        Assert.Equal(1, pool.ConnectionCount);
        Assert.Equal(1, server.ConnectionsOpened);
    }

    [Fact]
    public async Task ResponseDispose_BeforeBodyOfStreamingResponse_ServerRequestAborted()
    {
        var aborted = NewSignal();
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            using var registration = context.RequestAborted.Register(() => aborted.TrySetResult());
            var chunk = new byte[1024];
            var clock = Stopwatch.StartNew();
            try
            {
                while (!context.RequestAborted.IsCancellationRequested && clock.Elapsed < TimeSpan.FromSeconds(30))
                {
                    await context.Response.Body.WriteAsync(chunk, context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException)
            {
                // The client went away.
            }
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/stream");

        var response = await pool.SendAsync(request, cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        response.Dispose();

        await aborted.Task.WaitAsync(ServerObservationTimeout);
    }

    [Fact]
    public async Task SendAsync_KestrelAbortsBeforeHead_ThrowsOtherStreamUnaffected()
    {
        var holdArrived = NewSignal();
        var release = NewSignal();
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            if (context.Request.Path == "/abort")
            {
                context.Abort();
                return;
            }

            holdArrived.TrySetResult();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await context.Response.WriteAsync("held");
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var holdRequest = Request(HttpMethod.Get, server.EndPoint, "/hold");
        using var abortRequest = Request(HttpMethod.Get, server.EndPoint, "/abort");

        var hold = pool.SendAsync(holdRequest, cts.Token).AsTask();
        await holdArrived.Task.WaitAsync(Timeout);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => pool.SendAsync(abortRequest, cts.Token).AsTask());
        release.TrySetResult();

        using var response = await hold.WaitAsync(Timeout);
        Assert.Equal("held", Encoding.ASCII.GetString(await ReadAllAsync(response, cts.Token)));
        Assert.Equal(1, server.ConnectionsOpened);
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task ResponseBody_KestrelAbortsAfterHead_ReadThrowsIOException()
    {
        var gotHead = NewSignal();
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            await context.Response.Body.WriteAsync(new byte[100]);
            await context.Response.Body.FlushAsync();
            await gotHead.Task.WaitAsync(TimeSpan.FromSeconds(30));
            context.Abort();
        });
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        using var response = await pool.SendAsync(request, cts.Token);
        gotHead.TrySetResult();
        var body = await response.Content.ReadAsStreamAsync(cts.Token);
        var buffer = new byte[4096];

        await Assert.ThrowsAnyAsync<IOException>(async () =>
        {
            while (await body.ReadAsync(buffer, cts.Token) > 0)
            {
            }
        });
    }

    [Fact]
    public async Task SendAsync_RefusedPort_ThrowsConnectionError()
    {
        using var refusing = FreePort.Refusing();
        await using var pool = NewPool(new IPEndPoint(IPAddress.Loopback, refusing.Port));
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, new IPEndPoint(IPAddress.Loopback, refusing.Port), "/");

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => pool.SendAsync(request, cts.Token).AsTask());

        Assert.Equal(HttpRequestError.ConnectionError, error.HttpRequestError);
        Assert.Equal(0, pool.ConnectionCount);
    }

    [Fact]
    public async Task DisposeAsync_Idle_ClosesConnections()
    {
        await using var server = await H2cKestrel.StartAsync(context => context.Response.WriteAsync("ok"));
        var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        Assert.Equal("ok", await GetTextAsync(pool, server.EndPoint, "/", cts.Token));

        Assert.Equal(1, pool.ConnectionCount);
        await pool.DisposeAsync();

        Assert.True(await server.WaitForConnectionEndAsync(Timeout), "the server still has the connection open");
        Assert.Equal(0, pool.ConnectionCount);
    }

    [Fact]
    public async Task IdleTimer_ConnectionWithoutStreamsForAMinute_Closed()
    {
        var time = new ManualTimeProvider();
        await using var server = await H2cKestrel.StartAsync(context => context.Response.WriteAsync("ok"));
        await using var pool = NewPool(server.EndPoint, time);
        using var cts = new CancellationTokenSource(Timeout);
        Assert.Equal("ok", await GetTextAsync(pool, server.EndPoint, "/", cts.Token));

        // The sweep runs every quarter of the idle timeout: at 45 s the connection has been idle too briefly.
        time.Advance(TimeSpan.FromSeconds(45));
        Assert.Equal(1, pool.ConnectionCount);

        time.Advance(TimeSpan.FromSeconds(30));

        Assert.True(await server.WaitForConnectionEndAsync(Timeout), "the idle connection was not closed");
        Assert.Equal(0, pool.ConnectionCount);
    }

    [Fact]
    public async Task IdleTimer_StreamOpenForMinutes_ConnectionKeptAndReusedAfter()
    {
        var time = new ManualTimeProvider();
        var release = NewSignal();
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            if (context.Request.Path == "/slow")
            {
                await context.Response.WriteAsync("first part");
                await context.Response.Body.FlushAsync();
                await release.Task;
            }

            await context.Response.WriteAsync("done");
        });
        await using var pool = NewPool(server.EndPoint, time);
        using var cts = new CancellationTokenSource(Timeout);
        using var slowRequest = Request(HttpMethod.Get, server.EndPoint, "/slow");
        using var slow = await pool.SendAsync(slowRequest, cts.Token);

        time.Advance(TimeSpan.FromMinutes(3));
        release.SetResult();
        await ReadAllAsync(slow, cts.Token);
        Assert.Equal("done", await GetTextAsync(pool, server.EndPoint, "/", cts.Token));

        Assert.Equal(1, server.ConnectionsOpened);
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task ResponseDispose_ManyBodiesUnreadFromKestrel_LaterBodiesStillFlow()
    {
        const int BodySize = 200_000;
        using var written = new SemaphoreSlim(0);
        await using var server = await H2cKestrel.StartAsync(async context =>
        {
            switch (context.Request.Path.Value)
            {
                case "/big":
                    await context.Response.Body.WriteAsync(new byte[BodySize]);
                    await context.Response.CompleteAsync();
                    written.Release();
                    break;
                case "/final":
                    await context.Response.Body.WriteAsync(new byte[1024 * 1024]);
                    break;
                default:
                    await context.Response.WriteAsync("s");
                    break;
            }
        });
        await using var pool = NewPool(server.EndPoint);

        // 30 bodies of 200 kB dropped unread: 6 MB, more than the client's 4 MiB connection window.
        for (var i = 0; i < 30; i++)
        {
            using var cts = new CancellationTokenSource(Timeout);
            using var big = Request(HttpMethod.Get, server.EndPoint, "/big");
            using var response = await pool.SendAsync(big, cts.Token);
            var stream = await response.Content.ReadAsStreamAsync(cts.Token);
            Assert.True(await stream.ReadAsync(new byte[1], cts.Token) == 1);
            Assert.True(await written.WaitAsync(Timeout), $"the server could not send body {i}: the connection window is used up");

            // Frames arrive in order: once this answer is here, the big body is in the client's buffer.
            using var small = Request(HttpMethod.Get, server.EndPoint, "/small");
            using var smallResponse = await pool.SendAsync(small, cts.Token);
            await ReadAllAsync(smallResponse, cts.Token);
        }

        using var finalTimeout = new CancellationTokenSource(Timeout);
        using var final = Request(HttpMethod.Get, server.EndPoint, "/final");
        using var finalResponse = await pool.SendAsync(final, finalTimeout.Token);
        Assert.Equal(1024 * 1024, (await ReadAllAsync(finalResponse, finalTimeout.Token)).Length);
    }

    // ---- Against the raw fake --------------------------------------------------------

    [Fact]
    public async Task Start_ClientPreface_SettingsDisablePushAndAnnounceWindows()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var settings = await connection.ReadFrameAsync(cts.Token);
        var headers = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendHeadersAsync(headers.StreamId, HeaderBlock.Ok(), endStream: true);
        using var response = await send.WaitAsync(cts.Token);

        Assert.NotNull(settings);
        Assert.Equal(RawFrameType.Settings, settings.Type);
        var values = ReadSettings(settings);
        Assert.Equal(0u, values[0x2]);
        Assert.Equal((uint)ClientStreamWindow, values[0x4]);
        Assert.Equal(1, headers.StreamId);
        Assert.True(headers.Has(RawFrameType.EndStream));
        Assert.True(headers.Has(RawFrameType.EndHeaders));
    }

    [Fact]
    public async Task ReadLoop_ServerPingAndSettings_AcknowledgedWithSamePayload()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var headers = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendSettingsAsync((0x3, 100), (0x4, 65535));
        var settingsAck = await connection.ReadUntilAsync(f => f.Type == RawFrameType.Settings && f.Has(RawFrameType.Ack), cts.Token);
        byte[] ping = [1, 2, 3, 4, 5, 6, 7, 8];
        await connection.SendAsync(RawFrameType.Ping, 0, 0, ping);
        var pong = await connection.ReadUntilAsync(f => f.Type == RawFrameType.Ping, cts.Token);
        await connection.SendHeadersAsync(headers.StreamId, HeaderBlock.Ok(), endStream: true);
        using var response = await send.WaitAsync(cts.Token);

        Assert.Empty(settingsAck.Payload);
        Assert.Equal(0, settingsAck.StreamId);
        Assert.True(pong.Has(RawFrameType.Ack));
        Assert.Equal(0, pong.StreamId);
        Assert.Equal(ping, pong.Payload);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ReadLoop_HeadSplitOverContinuation_Decodes()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");
        var longValue = new string('v', 300);
        var block = new HeaderBlock()
            .LiteralIndexedName(8, "404")
            .Literal("x-first", "one")
            .Literal("x-long", longValue)
            .LiteralIndexedName(31, "text/plain")
            .ToArray();

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var headers = await connection.ReadHeadersAsync(cts.Token);
        var id = headers.StreamId;
        await connection.SendRawAsync([
            .. RawHttp2Connection.Frame(RawFrameType.Headers, 0, id, block.AsSpan(0, 10)),
            .. RawHttp2Connection.Frame(RawFrameType.Continuation, 0, id, block.AsSpan(10, 100)),
            .. RawHttp2Connection.Frame(RawFrameType.Continuation, RawFrameType.EndHeaders, id, block.AsSpan(110)),
        ]);
        await connection.SendAsync(RawFrameType.Data, RawFrameType.EndStream, id, "gone"u8);
        using var response = await send.WaitAsync(cts.Token);
        var body = await ReadAllAsync(response, cts.Token);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("one", Assert.Single(response.Headers.GetValues("x-first")));
        Assert.Equal(longValue, Assert.Single(response.Headers.GetValues("x-long")));
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("gone", Encoding.ASCII.GetString(body));
    }

    [Fact]
    public async Task ReadLoop_HuffmanAndDynamicTableFields_Decode()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);

        using var first = Request(HttpMethod.Get, server.EndPoint, "/1");
        var send = pool.SendAsync(first, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var headers = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendHeadersAsync(
            headers.StreamId,
            new HeaderBlock()
                .Indexed(8)
                .Literal("x-dyn", "first value, kept", index: true, huffman: true)
                .LiteralIndexedName(54, "raw-fake/1.0", huffman: true)
                .Literal("x-plain-indexed", "second", index: true)
                .ToArray(),
            endStream: true);
        using var firstResponse = await send.WaitAsync(cts.Token);

        using var second = Request(HttpMethod.Get, server.EndPoint, "/2");
        send = pool.SendAsync(second, cts.Token).AsTask();
        headers = await connection.ReadHeadersAsync(cts.Token);

        // A table size update (to the same 4096), then both entries by their dynamic indexes (newest is 62).
        await connection.SendHeadersAsync(
            headers.StreamId,
            new HeaderBlock().Raw(0x3f, 0xe1, 0x1f).Indexed(8).Indexed(63).Indexed(62).ToArray(),
            endStream: true);
        using var secondResponse = await send.WaitAsync(cts.Token);

        Assert.Equal("first value, kept", Assert.Single(firstResponse.Headers.GetValues("x-dyn")));
        Assert.Equal("raw-fake/1.0", Assert.Single(firstResponse.Headers.GetValues("server")));
        Assert.Equal("second", Assert.Single(firstResponse.Headers.GetValues("x-plain-indexed")));
        Assert.Equal("first value, kept", Assert.Single(secondResponse.Headers.GetValues("x-dyn")));
        Assert.Equal("second", Assert.Single(secondResponse.Headers.GetValues("x-plain-indexed")));
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task SendAsync_RefusedStreamBeforeHeadWithBody_ThrowsWithProtocolErrorCode7()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Post, server.EndPoint, "/");
        request.Content = new ByteArrayContent([1, 2, 3]);

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var headers = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendRstStreamAsync(headers.StreamId, 0x7);

        // Its body may be gone from the client's stream: it is not sent again, retry policies decide.
        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => send.WaitAsync(cts.Token));
        Assert.Equal(7L, FindProtocolException(error)?.ErrorCode);
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task SendAsync_RefusedStreamBeforeHeadWithoutBody_SentAgainAndAnswered()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var refused = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendRstStreamAsync(refused.StreamId, 0x7);
        var again = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendHeadersAsync(again.StreamId, HeaderBlock.Ok(), endStream: true);

        using var response = await send.WaitAsync(cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(again.StreamId > refused.StreamId);
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task SendAsync_GoAwayBeforeGetProcessed_ResentOnNewConnection()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/again");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var first = await server.AcceptAsync(cts.Token);
        await first.ReadHeadersAsync(cts.Token);
        await first.SendGoAwayAsync(0, 0x0);
        using var second = await server.AcceptAsync(cts.Token);
        var headers = await second.ReadHeadersAsync(cts.Token);
        await second.SendHeadersAsync(headers.StreamId, HeaderBlock.Ok(), endStream: true);

        using var response = await send.WaitAsync(cts.Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(await first.ReadToEndAsync(cts.Token));
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task SendAsync_GoAwayBeforePostProcessed_ThrowsUnprocessedRequest()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Post, server.EndPoint, "/once", new ByteArrayContent("body"u8.ToArray()));

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        await connection.ReadHeadersAsync(cts.Token);
        await connection.SendGoAwayAsync(0, 0x0);

        var error = await Assert.ThrowsAnyAsync<HttpRequestException>(() => send.WaitAsync(cts.Token));
        Assert.IsType<UnprocessedRequestException>(error);
        Assert.Equal(7L, FindProtocolException(error)?.ErrorCode);
    }

    [Theory]
    [InlineData("push-promise", 0x1u)]
    [InlineData("oversized-frame", 0x6u)]
    [InlineData("hpack-index-zero", 0x9u)]
    [InlineData("data-on-stream-zero", 0x1u)]
    [InlineData("connection-window-update-zero", 0x1u)]
    public async Task ReadLoop_ProtocolViolation_GoAwayWithErrorCodeAndRequestFails(string violation, uint code)
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var id = (await connection.ReadHeadersAsync(cts.Token)).StreamId;
        var frame = violation switch
        {
            "push-promise" => RawHttp2Connection.Frame(RawFrameType.PushPromise, RawFrameType.EndHeaders, id, [0, 0, 0, 2, 0x82, 0x86, 0x84]),
            "oversized-frame" => RawHttp2Connection.Frame(RawFrameType.Data, 0, id, new byte[16385]),
            "hpack-index-zero" => RawHttp2Connection.Frame(RawFrameType.Headers, RawFrameType.EndHeaders | RawFrameType.EndStream, id, [0x80]),
            "data-on-stream-zero" => RawHttp2Connection.Frame(RawFrameType.Data, 0, 0, [1, 2, 3]),
            "connection-window-update-zero" => RawHttp2Connection.Frame(RawFrameType.WindowUpdate, 0, 0, RawHttp2Connection.UInt32(0)),
            _ => throw new ArgumentOutOfRangeException(nameof(violation)),
        };
        await connection.SendRawAsync(frame);

        var goAway = await connection.TryReadUntilAsync(f => f.Type == RawFrameType.GoAway, cts.Token);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => send.WaitAsync(cts.Token));
        Assert.True(goAway is not null, "the client closed the connection without GOAWAY");
        Assert.Equal(code, goAway.UInt32At(4));
        Assert.True(await connection.ReadToEndAsync(cts.Token));
        Assert.Equal(0, pool.ConnectionCount);
    }

    [Fact]
    public async Task ReadLoop_DataBeyondStreamWindow_StreamResetWithFlowControlErrorConnectionSurvives()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var request = Request(HttpMethod.Get, server.EndPoint, "/");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var id = (await connection.ReadHeadersAsync(cts.Token)).StreamId;
        await connection.SendHeadersAsync(id, HeaderBlock.Ok(), endStream: false);
        var frames = new List<byte>();
        for (var sent = 0; sent <= ClientStreamWindow; sent += 16384)
        {
            frames.AddRange(RawHttp2Connection.Frame(RawFrameType.Data, 0, id, new byte[16384]));
        }

        await connection.SendRawAsync([.. frames]);
        var reset = await connection.ReadUntilAsync(f => f.Type == RawFrameType.RstStream, cts.Token);
        using var response = await send.WaitAsync(cts.Token);

        Assert.Equal(id, reset.StreamId);
        Assert.Equal(0x3u, reset.UInt32At(0));
        await Assert.ThrowsAnyAsync<IOException>(() => ReadAllAsync(response, cts.Token));

        using var next = Request(HttpMethod.Get, server.EndPoint, "/next");
        send = pool.SendAsync(next, cts.Token).AsTask();
        var headers = await connection.ReadHeadersAsync(cts.Token);
        await connection.SendHeadersAsync(headers.StreamId, HeaderBlock.Ok(), endStream: true);
        using var nextResponse = await send.WaitAsync(cts.Token);
        Assert.Equal(HttpStatusCode.OK, nextResponse.StatusCode);
        Assert.Equal(1, pool.ConnectionCount);
    }

    [Fact]
    public async Task ResponseBody_SeveralMiBReadSlowly_WindowUpdatesReturnCreditAndBodyCompletes()
    {
        const int Total = 6 * 1024 * 1024;
        var expected = Pattern(Total);
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = Request(HttpMethod.Get, server.EndPoint, "/large");

        var send = pool.SendAsync(request, cts.Token).AsTask();
        using var connection = await server.AcceptAsync(cts.Token);
        var id = (await connection.ReadHeadersAsync(cts.Token)).StreamId;

        // The windows the client gave before its request: its SETTINGS and connection WINDOW_UPDATE.
        long streamWindow = 65535;
        long connectionWindow = 65535;
        foreach (var frame in connection.Received)
        {
            if (frame.Type == RawFrameType.Settings && !frame.Has(RawFrameType.Ack) && ReadSettings(frame).TryGetValue(0x4, out var initial))
            {
                streamWindow = initial;
            }
            else if (frame.Type == RawFrameType.WindowUpdate && frame.StreamId == 0)
            {
                connectionWindow += frame.UInt32At(0);
            }
        }

        var streamUpdates = 0;
        var connectionUpdates = 0;
        var serve = Task.Run(
            async () =>
            {
                await connection.SendHeadersAsync(id, HeaderBlock.Ok(), endStream: false);
                var sent = 0;
                while (sent < Total)
                {
                    var n = (int)Math.Min(Math.Min(16384, Total - sent), Math.Min(streamWindow, connectionWindow));
                    if (n > 0)
                    {
                        await connection.SendAsync(RawFrameType.Data, sent + n == Total ? RawFrameType.EndStream : (byte)0, id, expected.AsSpan(sent, n));
                        sent += n;
                        streamWindow -= n;
                        connectionWindow -= n;
                        continue;
                    }

                    // Out of credit: only the client's WINDOW_UPDATEs let the body go on.
                    var frame = await connection.ReadFrameAsync(cts.Token) ?? throw new InvalidOperationException("the client closed the connection");
                    if (frame.Type == RawFrameType.WindowUpdate && frame.StreamId == 0)
                    {
                        connectionWindow += frame.UInt32At(0);
                        connectionUpdates++;
                    }
                    else if (frame.Type == RawFrameType.WindowUpdate && frame.StreamId == id)
                    {
                        streamWindow += frame.UInt32At(0);
                        streamUpdates++;
                    }
                }
            },
            cts.Token);

        using var response = await send.WaitAsync(cts.Token);
        var body = await response.Content.ReadAsStreamAsync(cts.Token);
        var received = new MemoryStream();
        var chunk = new byte[4096];
        int read;
        while ((read = await body.ReadAsync(chunk, cts.Token)) > 0)
        {
            received.Write(chunk, 0, read);

            // A slow consumer: the read loop runs ahead and the windows fill up.
            await Task.Yield();
        }

        await serve.WaitAsync(cts.Token);
        AssertBytes(expected, received.ToArray());
        Assert.True(streamUpdates > 0, "no stream WINDOW_UPDATE");
        Assert.True(connectionUpdates > 0, "no connection WINDOW_UPDATE");
    }

    [Fact]
    public async Task ResponseDispose_UnreadCompleteBodies_ConnectionWindowCreditReturned()
    {
        const int Rounds = 13;
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        RawHttp2Connection? connection = null;
        var firstRequest = 0;
        try
        {
            for (var i = 0; i < Rounds; i++)
            {
                using var request = Request(HttpMethod.Get, server.EndPoint, $"/{i}");
                var send = pool.SendAsync(request, cts.Token).AsTask();
                connection ??= await server.AcceptAsync(cts.Token);
                var id = (await connection.ReadHeadersAsync(cts.Token)).StreamId;
                if (i == 0)
                {
                    firstRequest = connection.Received.Count;
                }

                // A whole stream window of body, END_STREAM on its last frame.
                var frames = new List<byte>(RawHttp2Connection.Frame(RawFrameType.Headers, RawFrameType.EndHeaders, id, HeaderBlock.Ok()));
                for (var sent = 0; sent < ClientStreamWindow; sent += 16384)
                {
                    frames.AddRange(RawHttp2Connection.Frame(RawFrameType.Data, sent + 16384 == ClientStreamWindow ? RawFrameType.EndStream : (byte)0, id, new byte[16384]));
                }

                await connection.SendRawAsync([.. frames]);
                var response = await send.WaitAsync(cts.Token);

                // Once the PING is answered the whole body sits unread in the client; then it is dropped.
                await connection.SyncAsync(cts.Token);
                response.Dispose();
            }

            await connection!.SyncAsync(cts.Token);
            long credit = 0;
            foreach (var frame in connection.Received.Skip(firstRequest))
            {
                if (frame.Type == RawFrameType.WindowUpdate && frame.StreamId == 0)
                {
                    credit += frame.UInt32At(0);
                }
            }

            // 3.25 MiB were dropped; the client credits the connection each 2 MiB.
            Assert.True(credit >= 2 * 1024 * 1024, $"the client gave back {credit} bytes of connection window for {Rounds * ClientStreamWindow} bytes it dropped");
        }
        finally
        {
            connection?.Dispose();
        }
    }

    [Fact]
    public async Task SendAsync_ServerAllowsOneStream_SecondConcurrentRequestOnSecondConnection()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);

        using var warmUp = Request(HttpMethod.Get, server.EndPoint, "/warm-up");
        var send = pool.SendAsync(warmUp, cts.Token).AsTask();
        using var first = await server.AcceptAsync(cts.Token);
        var headers = await first.ReadHeadersAsync(cts.Token);
        await first.SendSettingsAsync((0x3, 1));
        await first.ReadUntilAsync(f => f.Type == RawFrameType.Settings && f.Has(RawFrameType.Ack), cts.Token);
        await first.SendHeadersAsync(headers.StreamId, HeaderBlock.Ok(), endStream: true);
        (await send.WaitAsync(cts.Token)).Dispose();

        using var a = Request(HttpMethod.Get, server.EndPoint, "/a");
        var sendA = pool.SendAsync(a, cts.Token).AsTask();
        var headersA = await first.ReadHeadersAsync(cts.Token);
        using var b = Request(HttpMethod.Get, server.EndPoint, "/b");
        var sendB = pool.SendAsync(b, cts.Token).AsTask();
        using var second = await server.AcceptAsync(cts.Token);
        await second.SendSettingsAsync((0x3, 1));
        var headersB = await second.ReadHeadersAsync(cts.Token);
        await second.SendHeadersAsync(headersB.StreamId, HeaderBlock.Ok(), endStream: true);
        await first.SendHeadersAsync(headersA.StreamId, HeaderBlock.Ok(), endStream: true);

        using var responseA = await sendA.WaitAsync(cts.Token);
        using var responseB = await sendB.WaitAsync(cts.Token);
        Assert.Equal(HttpStatusCode.OK, responseA.StatusCode);
        Assert.Equal(HttpStatusCode.OK, responseB.StatusCode);
        Assert.Equal(2, pool.ConnectionCount);
    }

    [Fact]
    public async Task SendAsync_TwoAtOnceToNewConnectionAllowingOne_BothSucceed()
    {
        using var server = new RawHttp2Server();
        await using var pool = NewPool(server.EndPoint);
        using var cts = new CancellationTokenSource(Timeout);
        using var a = Request(HttpMethod.Get, server.EndPoint, "/a");
        using var b = Request(HttpMethod.Get, server.EndPoint, "/b");

        var sendA = pool.SendAsync(a, cts.Token).AsTask();
        var sendB = pool.SendAsync(b, cts.Token).AsTask();

        // The limit comes with the server's preface, before the client sends any stream; which of
        // the two takes the first connection is up to the scheduler.
        using var first = await server.AcceptAsync(cts.Token, (0x3, 1));
        var headersFirst = await first.ReadHeadersAsync(cts.Token);
        using var second = await server.AcceptAsync(cts.Token, (0x3, 1));
        var headersSecond = await second.ReadHeadersAsync(cts.Token);
        await first.SendHeadersAsync(headersFirst.StreamId, HeaderBlock.Ok(), endStream: true);
        await second.SendHeadersAsync(headersSecond.StreamId, HeaderBlock.Ok(), endStream: true);

        using var responseA = await sendA.WaitAsync(cts.Token);
        using var responseB = await sendB.WaitAsync(cts.Token);
        Assert.Equal(HttpStatusCode.OK, responseA.StatusCode);
        Assert.Equal(HttpStatusCode.OK, responseB.StatusCode);
        Assert.Equal(2, pool.ConnectionCount);
    }

    // ---- Helpers ---------------------------------------------------------------------

    private static Http2ConnectionPool NewPool(IPEndPoint endPoint, TimeProvider? time = null) =>
        new(endPoint, TimeSpan.FromSeconds(5), new ClusterStats(new StatsStore(), "h2"), time: time);

    private static HttpRequestMessage Request(HttpMethod method, IPEndPoint endPoint, string path, HttpContent? content = null) =>
        new(method, $"http://{endPoint}{path}")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };

    /// <summary>GET <paramref name="path"/> and the whole body as ASCII, the response disposed.</summary>
    private static async Task<string> GetTextAsync(Http2ConnectionPool pool, IPEndPoint endPoint, string path, CancellationToken cancellationToken)
    {
        using var request = Request(HttpMethod.Get, endPoint, path);
        using var response = await pool.SendAsync(request, cancellationToken);
        return Encoding.ASCII.GetString(await ReadAllAsync(response, cancellationToken));
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return bytes;
    }

    private static async Task<byte[]> ReadAllAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var copy = new MemoryStream();
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            copy.Write(buffer, 0, read);
        }

        return copy.ToArray();
    }

    private static void AssertBytes(byte[] expected, byte[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        var mismatch = expected.AsSpan().CommonPrefixLength(actual);
        Assert.True(mismatch == expected.Length, $"bodies differ at byte {mismatch}");
    }

    private static Dictionary<ushort, uint> ReadSettings(RawFrame frame)
    {
        var values = new Dictionary<ushort, uint>();
        for (var i = 0; i + 6 <= frame.Payload.Length; i += 6)
        {
            values[BinaryPrimitives.ReadUInt16BigEndian(frame.Payload.AsSpan(i))] = frame.UInt32At(i + 2);
        }

        return values;
    }

    private static HttpProtocolException? FindProtocolException(Exception? error)
    {
        for (; error is not null; error = error.InnerException)
        {
            if (error is HttpProtocolException protocol)
            {
                return protocol;
            }
        }

        return null;
    }
}
