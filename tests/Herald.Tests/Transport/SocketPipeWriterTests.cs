using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Herald.Proxy.Transport;
using Xunit;

namespace Herald.Tests.Transport;

public sealed class SocketPipeWriterTests : IAsyncLifetime
{
    private readonly Pipe _transportOutput = new();
    private Socket _client = null!;
    private Socket _server = null!;

    public async Task InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        _client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var accepting = listener.AcceptAsync();
        await _client.ConnectAsync(listener.LocalEndPoint!);
        _server = await accepting;
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        _server.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task FlushAsync_SeveralWrites_PeerReceivesThemInOrder()
    {
        var writer = new SocketPipeWriter(_client, _transportOutput.Writer);

        Write(writer, "GET / HTTP/1.1\r\n");
        Write(writer, "host: a\r\n\r\n");
        var first = await writer.FlushAsync();
        Write(writer, "second");
        var second = await writer.FlushAsync();

        Assert.False(first.IsCompleted || first.IsCanceled);
        Assert.False(second.IsCompleted || second.IsCanceled);
        Assert.Equal("GET / HTTP/1.1\r\nhost: a\r\n\r\nsecond", await ReceiveAsync(33));
    }

    [Fact]
    public async Task GetSpan_LargerThanBuffer_GrowsAndKeepsWrittenBytes()
    {
        var writer = new SocketPipeWriter(_client, _transportOutput.Writer);
        Write(writer, "head:");
        var big = new string('x', 20_000);

        Write(writer, big);
        await writer.FlushAsync();

        Assert.Equal("head:" + big, await ReceiveAsync(5 + big.Length));
    }

    [Fact]
    public async Task CompleteAsync_UnflushedBytes_SentThenTransportOutputCompleted()
    {
        var writer = new SocketPipeWriter(_client, _transportOutput.Writer);
        Write(writer, "last words");

        await writer.CompleteAsync();

        Assert.Equal("last words", await ReceiveAsync(10));
        var read = await _transportOutput.Reader.ReadAsync();
        Assert.True(read.IsCompleted);
        Assert.True(read.Buffer.IsEmpty);
    }

    [Fact]
    public async Task FlushAsync_PeerReset_ReportsCompletedNowAndAfter()
    {
        var writer = new SocketPipeWriter(_client, _transportOutput.Writer);
        _server.LingerState = new LingerOption(true, 0);
        _server.Close();

        FlushResult result = default;
        for (var i = 0; i < 100 && !result.IsCompleted; i++)
        {
            // The first send after a reset may still be accepted by the kernel.
            Write(writer, "data");
            result = await writer.FlushAsync();
        }

        Assert.True(result.IsCompleted);
        Write(writer, "more");
        Assert.True((await writer.FlushAsync()).IsCompleted);
    }

    [Fact]
    public async Task CancelPendingFlush_SendWaitingForPeer_FlushReportsCanceled()
    {
        var writer = new SocketPipeWriter(_client, _transportOutput.Writer);
        ValueTask<FlushResult> flush;
        do
        {
            // The peer never reads: sooner or later a send waits for socket buffer space.
            writer.GetSpan(1 << 20)[..(1 << 20)].Fill((byte)'x');
            writer.Advance(1 << 20);
            flush = writer.FlushAsync();
        }
        while (flush.IsCompleted);

        writer.CancelPendingFlush();
        var result = await flush.AsTask().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.True(result.IsCanceled);
        Assert.False(result.IsCompleted);
    }

    [Fact]
    public async Task CancelPendingFlush_NoFlushPending_NextFlushCanceledAndItsBytesKept()
    {
        var writer = new SocketPipeWriter(_client, _transportOutput.Writer);
        Write(writer, "0");
        await writer.FlushAsync();

        writer.CancelPendingFlush();
        Write(writer, "abc");
        var canceled = await writer.FlushAsync();
        Write(writer, "def");
        var next = await writer.FlushAsync();

        Assert.True(canceled.IsCanceled);
        Assert.False(next.IsCanceled);
        // As with a pipe, a canceled flush leaves the bytes written; the next flush sends them.
        Assert.Equal("0abcdef", await ReceiveAsync(7));
    }

    [Fact]
    public async Task DirectSendTransportFor_SocketTransportConnection_OutputSendsToTheSocket()
    {
        // Upstream connections are made this way, and Kestrel's listeners use the same transport.
        await using var context = Herald.Proxy.Upstream.UpstreamSocketFactory.Create(_client);

        var transport = DirectSendTransport.For(context);
        Write(transport.Output, "direct");
        await transport.Output.FlushAsync();

        Assert.IsType<SocketPipeWriter>(transport.Output);
        Assert.Same(context.Transport.Input, transport.Input);
        Assert.Equal("direct", await ReceiveAsync(6));
    }

    private static void Write(PipeWriter writer, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        bytes.CopyTo(writer.GetSpan(bytes.Length));
        writer.Advance(bytes.Length);
    }

    private async Task<string> ReceiveAsync(int count)
    {
        var buffer = new byte[count];
        var received = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (received < count)
        {
            var read = await _server.ReceiveAsync(buffer.AsMemory(received), SocketFlags.None, timeout.Token);
            if (read == 0)
            {
                break;
            }

            received += read;
        }

        return Encoding.ASCII.GetString(buffer, 0, received);
    }
}
