using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Tcp;
using Herald.Proxy.Upstream;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.Tcp;

public sealed class TcpProxyHandlerTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    private readonly StatsStore _stats = new();
    private readonly CollectingSink _log = new();

    [Fact]
    public async Task HandleAsync_Echo1MiBBothWays_ByteExactAndCounted()
    {
        await using var upstream = new TestUpstream(TestUpstream.EchoAsync);
        var cluster = TestClusters.Create(_stats, "echo", TimeSpan.FromSeconds(5), upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("echo"), cluster, TimeProvider.System));
        var payload = new byte[1024 * 1024];
        new Random(7).NextBytes(payload);

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        var reading = SocketIo.ReadToEndAsync(client);
        await SocketIo.SendAllAsync(client, payload);
        client.Shutdown(SocketShutdown.Send);
        var echoed = await reading.WaitAsync(Limit);
        await handled.WaitAsync(Limit);

        Assert.Equal(payload.Length, echoed.Length);
        Assert.True(payload.AsSpan().SequenceEqual(echoed), "echoed bytes differ");
        Assert.Equal(1, Counter("tcp.edge.downstream_cx_total"));
        Assert.Equal(payload.Length, Counter("tcp.edge.downstream_cx_rx_bytes_total"));
        Assert.Equal(payload.Length, Counter("tcp.edge.downstream_cx_tx_bytes_total"));
        Assert.Equal(payload.Length, cluster.Stats.UpstreamCxTxBytesTotal.Value);
        Assert.Equal(payload.Length, cluster.Stats.UpstreamCxRxBytesTotal.Value);
        Assert.Equal(1, cluster.Stats.UpstreamCxTotal.Value);
        Assert.Equal(0, cluster.Stats.UpstreamCxActive.Value);
        var entry = Assert.Single(_log.Entries);
        Assert.Equal(payload.Length, entry.BytesReceived);
        Assert.Equal(payload.Length, entry.BytesSent);
        Assert.Equal("-", entry.ResponseFlags);
        Assert.Equal(upstream.EndPoint.ToString(), entry.UpstreamHost);
    }

    [Fact]
    public async Task HandleAsync_ServerFirst_BannerReachesSilentClient()
    {
        var release = new TaskCompletionSource();
        await using var upstream = new TestUpstream(async socket =>
        {
            await SocketIo.SendAllAsync(socket, "220 mail.example ESMTP\r\n"u8.ToArray());
            await release.Task;
        });
        var cluster = TestClusters.Create(_stats, "smtp", TimeSpan.FromSeconds(5), upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("smtp"), cluster, TimeProvider.System));

        using var client = await front.ConnectAsync();
        var banner = await SocketIo.ReadExactlyAsync(client, 24).WaitAsync(Limit);

        Assert.Equal("220 mail.example ESMTP\r\n", Encoding.ASCII.GetString(banner));
        release.SetResult();
    }

    [Fact]
    public async Task HandleAsync_ClientHalfCloses_StillReceivesReplySentAfterItsEof()
    {
        await using var upstream = new TestUpstream(async socket =>
        {
            var request = await SocketIo.ReadToEndAsync(socket);
            await SocketIo.SendAllAsync(socket, Encoding.ASCII.GetBytes($"got {request.Length} bytes"));
        });
        var cluster = TestClusters.Create(_stats, "c", TimeSpan.FromSeconds(5), upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("c"), cluster, TimeProvider.System));

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        await SocketIo.SendAllAsync(client, new byte[5000]);
        client.Shutdown(SocketShutdown.Send);
        var reply = await SocketIo.ReadToEndAsync(client).WaitAsync(Limit);

        Assert.Equal("got 5000 bytes", Encoding.ASCII.GetString(reply));
        await handled.WaitAsync(Limit);
    }

    [Fact]
    public async Task HandleAsync_UpstreamHalfCloses_ClientCanStillSend()
    {
        var received = new TaskCompletionSource<int>();
        await using var upstream = new TestUpstream(async socket =>
        {
            await SocketIo.SendAllAsync(socket, "bye"u8.ToArray());
            socket.Shutdown(SocketShutdown.Send);
            received.SetResult((await SocketIo.ReadToEndAsync(socket)).Length);
        });
        var cluster = TestClusters.Create(_stats, "c", TimeSpan.FromSeconds(5), upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("c"), cluster, TimeProvider.System));

        using var client = await front.ConnectAsync();
        var fromServer = await SocketIo.ReadToEndAsync(client).WaitAsync(Limit);
        await SocketIo.SendAllAsync(client, new byte[3000]);
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal("bye", Encoding.ASCII.GetString(fromServer));
        Assert.Equal(3000, await received.Task.WaitAsync(Limit));
    }

    [Fact]
    public async Task HandleAsync_UpstreamResets_DownstreamIsReset()
    {
        await using var upstream = new TestUpstream(async socket =>
        {
            await SocketIo.ReadExactlyAsync(socket, 1);
            socket.LingerState = new LingerOption(true, 0);
            socket.Close();
        });
        var cluster = TestClusters.Create(_stats, "c", TimeSpan.FromSeconds(5), upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("c"), cluster, TimeProvider.System));

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        await SocketIo.SendAllAsync(client, "x"u8.ToArray());

        var error = await Assert.ThrowsAsync<SocketException>(() => SocketIo.ReadToEndAsync(client).WaitAsync(Limit));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        await handled.WaitAsync(Limit);
        Assert.Equal("UC", Assert.Single(_log.Entries).ResponseFlags);
    }

    [Fact]
    public async Task HandleAsync_DownstreamResets_UpstreamIsReset()
    {
        var upstreamSaw = new TaskCompletionSource<Exception?>();
        await using var upstream = new TestUpstream(async socket =>
        {
            try
            {
                await SocketIo.ReadToEndAsync(socket);
                upstreamSaw.SetResult(null);
            }
            catch (Exception ex)
            {
                upstreamSaw.SetResult(ex);
            }
        });
        var cluster = TestClusters.Create(_stats, "c", TimeSpan.FromSeconds(5), upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("c"), cluster, TimeProvider.System));

        var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        await SocketIo.SendAllAsync(client, "hello"u8.ToArray());
        client.LingerState = new LingerOption(true, 0);
        client.Close();

        var seen = await upstreamSaw.Task.WaitAsync(Limit);
        var reset = Assert.IsType<SocketException>(seen);
        Assert.Equal(SocketError.ConnectionReset, reset.SocketErrorCode);
        await handled.WaitAsync(Limit);
    }

    [Fact]
    public async Task HandleAsync_UpstreamRefuses_DownstreamClosedAndConnectFailCounted()
    {
        using var closed = FreePort.Refusing();
        var closedPort = new IPEndPoint(IPAddress.Loopback, closed.Port);
        var cluster = TestClusters.Create(_stats, "down", TimeSpan.FromSeconds(5), closedPort);
        await using var front = new ProxyFront(Handler(Config("down"), cluster, TimeProvider.System));

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        var received = await SocketIo.ReadToEndAsync(client).WaitAsync(Limit);
        await handled.WaitAsync(Limit);

        Assert.Empty(received);
        Assert.Equal(1, cluster.Stats.UpstreamCxTotal.Value);
        Assert.Equal(1, cluster.Stats.UpstreamCxConnectFail.Value);
        Assert.Equal(0, cluster.Stats.UpstreamCxConnectTimeout.Value);
        Assert.Equal(0, cluster.Stats.UpstreamCxActive.Value);
        Assert.Equal("UF", Assert.Single(_log.Entries).ResponseFlags);
    }

    [Fact]
    public async Task HandleAsync_NoEndpoint_DownstreamClosedAndNoneHealthyCounted()
    {
        var cluster = TestClusters.Create(_stats, "empty", TimeSpan.FromSeconds(5));
        await using var front = new ProxyFront(Handler(Config("empty"), cluster, TimeProvider.System));

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();

        Assert.Empty(await SocketIo.ReadToEndAsync(client).WaitAsync(Limit));
        await handled.WaitAsync(Limit);
        Assert.Equal(1, cluster.Stats.UpstreamCxNoneHealthy.Value);
        Assert.Equal(0, cluster.Stats.UpstreamCxTotal.Value);
        Assert.Equal("UH", Assert.Single(_log.Entries).ResponseFlags);
    }

    [Fact]
    public async Task HandleAsync_UnknownCluster_DownstreamClosedAndNoRouteCounted()
    {
        var handler = new TcpProxyHandler(Config("missing"), _ => null, _stats, TimeProvider.System);
        var downstream = new MemoryDuplexPipe();

        await handler.HandleAsync(downstream, null, CancellationToken.None).WaitAsync(Limit);

        Assert.True(await downstream.OutputCompletedAsync());
        Assert.Equal(1, Counter("tcp.edge.downstream_cx_no_route"));
        Assert.Equal("NC", Assert.Single(_log.Entries).ResponseFlags);
    }

    [Fact]
    public async Task HandleAsync_ConnectHangs_TimesOutOnVirtualTime()
    {
        var time = new ManualTimeProvider();
        var cluster = TestClusters.Create(_stats, "slow", TimeSpan.FromSeconds(2), new IPEndPoint(IPAddress.Loopback, 9));
        var handler = new TcpProxyHandler(
            Config("slow"),
            name => name == "slow" ? cluster : null,
            _stats,
            time,
            async (_, token) =>
            {
                await Task.Delay(Timeout.Infinite, token);
                throw new InvalidOperationException("unreachable");
            });
        var downstream = new MemoryDuplexPipe();

        var handling = handler.HandleAsync(downstream, null, CancellationToken.None);
        await time.WaitForArmedTimersAsync(1).WaitAsync(Limit);
        time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.False(handling.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await handling.WaitAsync(Limit);

        Assert.True(await downstream.OutputCompletedAsync());
        Assert.Equal(1, cluster.Stats.UpstreamCxConnectTimeout.Value);
        Assert.Equal(1, cluster.Stats.UpstreamCxConnectFail.Value);
        var entry = Assert.Single(_log.Entries);
        Assert.Equal("UF", entry.ResponseFlags);
        Assert.Equal(2000, entry.DurationMs);
    }

    [Fact]
    public async Task HandleAsync_NoBytesForIdleTimeout_ClosesBothAndCounts()
    {
        var time = new ManualTimeProvider();
        await using var upstream = new TestUpstream(TestUpstream.EchoAsync);
        var cluster = TestClusters.Create(_stats, "echo", TimeSpan.FromSeconds(5), upstream.EndPoint);
        var config = Config("echo", idle: TimeSpan.FromMinutes(10));
        await using var front = new ProxyFront(Handler(config, cluster, time));

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        await EchoOnceAsync(client, "one");
        await time.WaitForArmedTimersAsync(1).WaitAsync(Limit);

        // Traffic at minute 9 pushes the deadline to minute 19.
        time.Advance(TimeSpan.FromMinutes(9));
        await EchoOnceAsync(client, "two");
        time.Advance(TimeSpan.FromMinutes(9));
        Assert.False(handled.IsCompleted);
        await EchoOnceAsync(client, "three");
        Assert.Equal(0, Counter("tcp.edge.idle_timeout"));

        time.Advance(TimeSpan.FromMinutes(10));
        var rest = await SocketIo.ReadToEndAsync(client).WaitAsync(Limit);
        await handled.WaitAsync(Limit);

        Assert.Empty(rest);
        Assert.Equal(1, Counter("tcp.edge.idle_timeout"));
        await Assert.Single(upstream.Connections).WaitAsync(Limit);
        Assert.Equal("SI", Assert.Single(_log.Entries).ResponseFlags);
    }

    [Fact]
    public async Task HandleAsync_IdleTimeoutZero_ArmsNoTimer()
    {
        var time = new ManualTimeProvider();
        await using var upstream = new TestUpstream(TestUpstream.EchoAsync);
        var cluster = TestClusters.Create(_stats, "echo", TimeSpan.Zero, upstream.EndPoint);
        await using var front = new ProxyFront(Handler(Config("echo", idle: TimeSpan.Zero), cluster, time));

        using var client = await front.ConnectAsync();
        var handled = await front.NextHandledAsync();
        await EchoOnceAsync(client, "ping");
        time.Advance(TimeSpan.FromDays(30));
        await EchoOnceAsync(client, "still here");

        Assert.Equal(0, Counter("tcp.edge.idle_timeout"));
        client.Shutdown(SocketShutdown.Send);
        await SocketIo.ReadToEndAsync(client).WaitAsync(Limit);
        await handled.WaitAsync(Limit);
    }

    [Fact]
    public async Task HandleAsync_WeightedClusters_ConnectsToPickedCluster()
    {
        await using var upstream = new TestUpstream(async socket => await SocketIo.SendAllAsync(socket, "b"u8.ToArray()));
        var clusterB = TestClusters.Create(_stats, "b", TimeSpan.FromSeconds(5), upstream.EndPoint);
        var config = new TcpProxyConfig
        {
            StatPrefix = "edge",
            WeightedClusters = [("a", 0), ("b", 5)],
            AccessLogs = [_log],
        };
        await using var front = new ProxyFront(new TcpProxyHandler(config, name => name == "b" ? clusterB : null, _stats, TimeProvider.System));

        for (var i = 0; i < 3; i++)
        {
            using var client = await front.ConnectAsync();
            Assert.Equal("b", Encoding.ASCII.GetString(await SocketIo.ReadToEndAsync(client).WaitAsync(Limit)));
        }

        Assert.Equal(3, clusterB.Stats.UpstreamCxTotal.Value);
    }

    [Fact]
    public async Task HandleAsync_DownstreamNotReading_HoldsAtMostPipeLimitPlusOneRead()
    {
        const int Total = 8 * 1024 * 1024;
        await using var upstream = new TestUpstream(async socket =>
        {
            await SocketIo.SendAllAsync(socket, new byte[Total]);
            socket.Shutdown(SocketShutdown.Send);
            await SocketIo.ReadToEndAsync(socket);
        });
        var cluster = TestClusters.Create(_stats, "bulk", TimeSpan.FromSeconds(5), upstream.EndPoint);
        var handler = Handler(Config("bulk"), cluster, TimeProvider.System);
        var downstream = new MemoryDuplexPipe(pauseAt: 64 * 1024);

        var handling = handler.HandleAsync(downstream, null, CancellationToken.None);
        var sent = cluster.Stats.UpstreamCxRxBytesTotal;
        while (sent.Value < 64 * 1024)
        {
            await Task.Delay(5);
        }

        // Nothing reads the downstream: the relay must stop at the pipe's pause threshold plus one receive.
        await Task.Delay(300);
        Assert.InRange(sent.Value, 64 * 1024, (64 + 16) * 1024);

        // Reading resumes the flow, and every byte arrives.
        var received = await downstream.DrainOutputAsync().WaitAsync(Limit);
        Assert.Equal(Total, received);
        await downstream.EndInputAsync();
        await handling.WaitAsync(Limit);
    }

    [Fact]
    public void PickCluster_Weights_SplitTheRandomRange()
    {
        var config = new TcpProxyConfig { StatPrefix = "p", WeightedClusters = [("a", 1), ("b", 3)] };

        Assert.Equal("a", config.PickCluster(0));
        Assert.Equal("b", config.PickCluster(1));
        Assert.Equal("b", config.PickCluster(3));
        Assert.Equal("a", config.PickCluster(4));
        Assert.Equal("b", config.PickCluster(uint.MaxValue));
    }

    [Fact]
    public void PickCluster_SingleCluster_IgnoresRandom()
    {
        var config = new TcpProxyConfig { StatPrefix = "p", Cluster = "only" };

        Assert.Equal("only", config.PickCluster(12345));
    }

    private TcpProxyHandler Handler(TcpProxyConfig config, Cluster cluster, TimeProvider time) =>
        new(config, name => name == cluster.Name ? cluster : null, _stats, time);

    private TcpProxyConfig Config(string cluster, TimeSpan? idle = null) => new()
    {
        StatPrefix = "edge",
        Cluster = cluster,
        IdleTimeout = idle ?? TcpProxyConfig.DefaultIdleTimeout,
        AccessLogs = [_log],
    };

    private long Counter(string name) => _stats.Counters.Single(c => c.Key.FlatName == name).Value;

    private static async Task EchoOnceAsync(Socket client, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        await SocketIo.SendAllAsync(client, bytes);
        var back = await SocketIo.ReadExactlyAsync(client, bytes.Length).WaitAsync(Limit);
        Assert.Equal(text, Encoding.ASCII.GetString(back));
    }

    private sealed class CollectingSink : IAccessLogSink
    {
        private readonly List<AccessLogEntry> _entries = [];

        public IReadOnlyList<AccessLogEntry> Entries
        {
            get
            {
                lock (_entries)
                {
                    return [.. _entries];
                }
            }
        }

        public void Log(AccessLogEntry entry)
        {
            lock (_entries)
            {
                _entries.Add(entry);
            }
        }
    }

    /// <summary>A downstream made of two in-memory pipes, for tests that need no socket.</summary>
    private sealed class MemoryDuplexPipe(int pauseAt = 64 * 1024) : IDuplexPipe
    {
        private readonly Pipe _input = new();
        private readonly Pipe _output = new(new PipeOptions(pauseWriterThreshold: pauseAt, resumeWriterThreshold: pauseAt / 2));

        public PipeReader Input => _input.Reader;

        public PipeWriter Output => _output.Writer;

        /// <summary>True when the proxy completed its output (the downstream would see the close).</summary>
        public async Task<bool> OutputCompletedAsync()
        {
            var read = await _output.Reader.ReadAsync().AsTask().WaitAsync(Limit);
            return read.IsCompleted && read.Buffer.IsEmpty;
        }

        /// <summary>The downstream client's end of stream.</summary>
        public ValueTask EndInputAsync() => _input.Writer.CompleteAsync();

        /// <summary>Reads the proxy's output to its end; returns the byte count.</summary>
        public async Task<long> DrainOutputAsync()
        {
            long total = 0;
            while (true)
            {
                var read = await _output.Reader.ReadAsync();
                total += read.Buffer.Length;
                _output.Reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    return total;
                }
            }
        }
    }
}
