using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Herald.Proxy.Listeners;
using Herald.Tests.Tcp;
using Xunit;

namespace Herald.Tests.Listeners;

public sealed class ProtocolSnifferTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan TestLimit = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\n\r\n")]
    [InlineData("POST /submit HTTP/1.1\r\n")]
    [InlineData("DELETE /x HTTP/1.1\r\n")]
    [InlineData("OPTIONS * HTTP/1.1\r\n")]
    [InlineData("CONNECT a.example:443 HTTP/1.1\r\n")]
    [InlineData("PROPFIND /dav HTTP/1.1\r\n")]
    [InlineData("PRI /not-the-preface HTTP/1.1\r\n")]
    [InlineData("BREW /pot HTTP/1.1\r\n")]
    public async Task SniffAsync_RequestLine_Http1(string start)
    {
        var pipe = PipeWith(start);

        var result = await Sniff(pipe);

        Assert.Equal(DetectedProtocol.Http1, result.Protocol);
    }

    [Theory]
    [InlineData("*1\r\n$4\r\nPING\r\n")]
    [InlineData("SET key value\r\n")]
    [InlineData("get / HTTP/1.1\r\n")]
    [InlineData("\0\0\0\x08\x04\xd2\x16\x2f")]
    [InlineData(" GET / HTTP/1.1\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.6\r\n")]
    public async Task SniffAsync_NotHttpOrTls_Other(string start)
    {
        var pipe = PipeWith(start);

        var result = await Sniff(pipe);

        Assert.Equal(DetectedProtocol.Other, result.Protocol);
    }

    [Fact]
    public async Task SniffAsync_BufferedRequest_CompletesSynchronouslyAndLeavesBytesReadable()
    {
        const string Request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
        var pipe = PipeWith(Request);

        var pending = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);

        Assert.True(pending.IsCompletedSuccessfully);
        Assert.Same(SniffResult.Http1, pending.Result);
        Assert.Equal(Request, await ReadAllBufferedAsync(pipe.Reader));
    }

    [Fact]
    public void SniffAsync_BufferedRequest_AllocatesNothing()
    {
        var pipe = PipeWith("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        _ = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None).Result;

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            _ = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None).Result;
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task SniffAsync_Http2Preface_Http2()
    {
        var pipe = PipeWith("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0");

        var result = await Sniff(pipe);

        Assert.Same(SniffResult.Http2, result);
    }

    [Fact]
    public async Task SniffAsync_PrefaceInPieces_WaitsThenHttp2()
    {
        var pipe = PipeWith("PRI * HTT");
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        Assert.False(sniff.IsCompleted);

        await WriteAsync(pipe, "P/2.0\r\n\r\nSM\r");
        Assert.False(sniff.IsCompleted);
        await WriteAsync(pipe, "\n\r\n");

        Assert.Equal(DetectedProtocol.Http2, (await sniff.AsTask().WaitAsync(TestLimit)).Protocol);
        Assert.Equal("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", await ReadAllBufferedAsync(pipe.Reader));
    }

    [Fact]
    public async Task SniffAsync_PartialPrefaceAtTimeout_Other()
    {
        var pipe = PipeWith("PRI * HTTP/2");
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        await _time.WaitForArmedTimersAsync(1).WaitAsync(TestLimit);

        _time.Advance(Timeout);

        Assert.Same(SniffResult.Other, await sniff.AsTask().WaitAsync(TestLimit));
        Assert.Equal("PRI * HTTP/2", await ReadAllBufferedAsync(pipe.Reader, afterTimeout: true));
    }

    [Fact]
    public async Task SniffAsync_ClientSendsNothing_OtherAtTimeoutWithoutStall()
    {
        var pipe = NewPipe();
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        await _time.WaitForArmedTimersAsync(1).WaitAsync(TestLimit);

        _time.Advance(Timeout - TimeSpan.FromMilliseconds(1));
        Assert.False(sniff.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        Assert.Same(SniffResult.Other, await sniff.AsTask().WaitAsync(TestLimit));

        // The timeout's cancellation must not leak into the next reader.
        await WriteAsync(pipe, "220 ready");
        var next = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TestLimit);
        Assert.False(next.IsCanceled);
        pipe.Reader.AdvanceTo(next.Buffer.Start);
    }

    [Fact]
    public async Task SniffAsync_BytesArriveBeforeTimeout_TimerDoesNotCancelLaterReads()
    {
        var pipe = NewPipe();
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        await _time.WaitForArmedTimersAsync(1).WaitAsync(TestLimit);

        await WriteAsync(pipe, "HEAD / HTTP/1.1\r\n");
        Assert.Same(SniffResult.Http1, await sniff.AsTask().WaitAsync(TestLimit));
        _time.Advance(TimeSpan.FromSeconds(1));

        var next = await pipe.Reader.ReadAsync().AsTask().WaitAsync(TestLimit);
        Assert.False(next.IsCanceled);
        Assert.Equal("HEAD / HTTP/1.1\r\n", Encoding.Latin1.GetString(next.Buffer));
    }

    [Fact]
    public async Task SniffAsync_AmbiguousBytesAtTimeout_Other()
    {
        var pipe = PipeWith("GE");
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        await _time.WaitForArmedTimersAsync(1).WaitAsync(TestLimit);

        _time.Advance(Timeout);

        Assert.Same(SniffResult.Other, await sniff.AsTask().WaitAsync(TestLimit));
        Assert.Equal("GE", await ReadAllBufferedAsync(pipe.Reader, afterTimeout: true));
    }

    [Fact]
    public async Task SniffAsync_ZeroTimeoutWithAmbiguousBytes_OtherAndBytesStillReadable()
    {
        var pipe = PipeWith("GE");

        var result = await ProtocolSniffer.SniffAsync(pipe.Reader, TimeSpan.Zero, _time, CancellationToken.None);

        Assert.Same(SniffResult.Other, result);
        Assert.Equal("GE", await ReadAllBufferedAsync(pipe.Reader));
    }

    [Fact]
    public async Task SniffAsync_EndOfStreamWithNothing_Other()
    {
        var pipe = NewPipe();
        await pipe.Writer.CompleteAsync();

        Assert.Same(SniffResult.Other, await Sniff(pipe));
    }

    [Fact]
    public async Task SniffAsync_EndOfStreamMidMethod_Other()
    {
        var pipe = PipeWith("GE");
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);

        await pipe.Writer.CompleteAsync();

        Assert.Same(SniffResult.Other, await sniff.AsTask().WaitAsync(TestLimit));
    }

    [Fact]
    public async Task SniffAsync_DotNetClientHello_TlsWithSniAndAlpn()
    {
        var hello = await TlsClientHelloParserTests.CaptureClientHelloAsync("a.example", "h2", "http/1.1");
        var pipe = NewPipe();
        await pipe.Writer.WriteAsync(hello);

        var result = await Sniff(pipe);

        Assert.Equal(DetectedProtocol.Tls, result.Protocol);
        Assert.Equal("a.example", result.ServerName);
        Assert.Equal(["h2", "http/1.1"], result.ApplicationProtocols);
        var read = await pipe.Reader.ReadAsync();
        Assert.Equal(hello.Length, read.Buffer.Length);
    }

    [Fact]
    public async Task SniffAsync_ClientHelloInPieces_WaitsForAllOfIt()
    {
        var hello = TlsClientHelloParserTests.Reframe(await TlsClientHelloParserTests.CaptureClientHelloAsync("a.example", "h2"), 200);
        var pipe = NewPipe();
        await pipe.Writer.WriteAsync(hello.AsMemory(0, 3));
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);

        for (var offset = 3; offset < hello.Length; offset += 150)
        {
            Assert.False(sniff.IsCompleted);
            await pipe.Writer.WriteAsync(hello.AsMemory(offset, Math.Min(150, hello.Length - offset)));
        }

        var result = await sniff.AsTask().WaitAsync(TestLimit);
        Assert.Equal(DetectedProtocol.Tls, result.Protocol);
        Assert.Equal("a.example", result.ServerName);
        Assert.Equal(["h2"], result.ApplicationProtocols);
    }

    [Fact]
    public async Task SniffAsync_TlsHeaderButHelloIncompleteAtTimeout_TlsWithoutServerName()
    {
        var hello = await TlsClientHelloParserTests.CaptureClientHelloAsync("a.example");
        var pipe = NewPipe();
        await pipe.Writer.WriteAsync(hello.AsMemory(0, 20));
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        await _time.WaitForArmedTimersAsync(1).WaitAsync(TestLimit);

        // A started ClientHello gets 10 s, not the 100 ms meant for server-first protocols.
        _time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(sniff.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(1));

        var result = await sniff.AsTask().WaitAsync(TestLimit);
        Assert.Equal(DetectedProtocol.Tls, result.Protocol);
        Assert.Null(result.ServerName);
    }

    [Fact]
    public async Task SniffAsync_ClientHelloRestArrivesAfterShortTimeout_StillReadsSni()
    {
        var hello = await TlsClientHelloParserTests.CaptureClientHelloAsync("late.example");
        var pipe = NewPipe();
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None);
        await _time.WaitForArmedTimersAsync(1).WaitAsync(TestLimit);
        await pipe.Writer.WriteAsync(hello.AsMemory(0, 10));

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.False(sniff.IsCompleted);
        await pipe.Writer.WriteAsync(hello.AsMemory(10));

        var result = await sniff.AsTask().WaitAsync(TestLimit);
        Assert.Equal("late.example", result.ServerName);
    }

    [Fact]
    public async Task SniffAsync_HandshakeByteWithWrongVersion_Other()
    {
        var pipe = NewPipe();
        await pipe.Writer.WriteAsync(new byte[] { 0x16, 0x03, 0x09, 0x00 });

        Assert.Same(SniffResult.Other, await Sniff(pipe));
    }

    [Fact]
    public async Task SniffAsync_CallerCancels_Throws()
    {
        var pipe = NewPipe();
        using var cts = new CancellationTokenSource();
        var sniff = ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, cts.Token);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sniff.AsTask().WaitAsync(TestLimit));
    }

    private async Task<SniffResult> Sniff(Pipe pipe) =>
        await ProtocolSniffer.SniffAsync(pipe.Reader, Timeout, _time, CancellationToken.None).AsTask().WaitAsync(TestLimit);

    /// <summary>Inline schedulers: a write runs the sniffer's continuation before returning, so steps are deterministic.</summary>
    private static Pipe NewPipe() =>
        new(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, useSynchronizationContext: false));

    private static Pipe PipeWith(string text)
    {
        var pipe = NewPipe();
        pipe.Writer.Write(Encoding.Latin1.GetBytes(text));
        pipe.Writer.FlushAsync().AsTask().Wait();
        return pipe;
    }

    private static async Task WriteAsync(Pipe pipe, string text) => await pipe.Writer.WriteAsync(Encoding.Latin1.GetBytes(text));

    /// <summary>
    /// What a reader gets next, which must come at once: the sniffer left it unconsumed. After a
    /// timeout the read comes back flagged cancelled (the pipe cannot un-examine bytes).
    /// </summary>
    private static async Task<string> ReadAllBufferedAsync(PipeReader reader, bool afterTimeout = false)
    {
        var read = await reader.ReadAsync().AsTask().WaitAsync(TestLimit);
        Assert.Equal(afterTimeout, read.IsCanceled);
        var text = Encoding.Latin1.GetString(read.Buffer);
        reader.AdvanceTo(read.Buffer.Start);
        return text;
    }
}
