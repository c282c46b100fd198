using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Herald.Proxy.Listeners;
using Xunit;

namespace Herald.Tests.Listeners;

public sealed class TlsClientHelloParserTests
{
    [Fact]
    public async Task TryParse_DotNetClientHello_ReturnsServerNameAndAlpn()
    {
        var hello = await CaptureClientHelloAsync("a.example", "h2", "http/1.1");

        var status = TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(hello), out var serverName, out var alpn);

        Assert.Equal(ClientHelloParseStatus.Ok, status);
        Assert.Equal("a.example", serverName);
        Assert.Equal(["h2", "http/1.1"], alpn);
    }

    [Fact]
    public async Task TryParse_DotNetClientHelloWithoutAlpn_ReturnsServerNameOnly()
    {
        var hello = await CaptureClientHelloAsync("b.example.com");

        var status = TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(hello), out var serverName, out var alpn);

        Assert.Equal(ClientHelloParseStatus.Ok, status);
        Assert.Equal("b.example.com", serverName);
        Assert.Empty(alpn);
    }

    [Fact]
    public async Task TryParse_EveryTruncation_NeedsMoreData()
    {
        var hello = await CaptureClientHelloAsync("a.example", "h2");

        for (var length = 0; length < hello.Length; length++)
        {
            var status = TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(hello, 0, length), out var serverName, out _);
            Assert.True(status == ClientHelloParseStatus.NeedMoreData, $"length {length}: {status}");
            Assert.Null(serverName);
        }
    }

    [Fact]
    public async Task TryParse_HelloSplitAcrossRecordsAndSegments_ParsesTheSame()
    {
        var hello = await CaptureClientHelloAsync("a.example", "h2", "http/1.1");
        var split = Reframe(hello, 100);
        Assert.True(split.Length > hello.Length + 5, "the hello should span several records");

        var status = TlsClientHelloParser.TryParse(Segmented(split, 7), out var serverName, out var alpn);

        Assert.Equal(ClientHelloParseStatus.Ok, status);
        Assert.Equal("a.example", serverName);
        Assert.Equal(["h2", "http/1.1"], alpn);
    }

    [Fact]
    public async Task TryParse_SplitHelloTruncated_NeedsMoreData()
    {
        var split = Reframe(await CaptureClientHelloAsync("a.example", "h2"), 50);

        for (var length = 0; length < split.Length; length += 3)
        {
            Assert.Equal(ClientHelloParseStatus.NeedMoreData, TlsClientHelloParser.TryParse(Segmented(split.AsSpan(0, length).ToArray(), 5), out _, out _));
        }
    }

    [Fact]
    public void TryParse_BuiltHello_LowercasesServerName()
    {
        var hello = BuildHello(Extension(0, ServerNameList("API.Example.COM")), Extension(16, AlpnList("h2", "custom-proto")));

        var status = TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(hello), out var serverName, out var alpn);

        Assert.Equal(ClientHelloParseStatus.Ok, status);
        Assert.Equal("api.example.com", serverName);
        Assert.Equal(["h2", "custom-proto"], alpn);
    }

    [Fact]
    public void TryParse_NoExtensions_OkWithoutServerName()
    {
        var status = TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(BuildHello(null)), out var serverName, out var alpn);

        Assert.Equal(ClientHelloParseStatus.Ok, status);
        Assert.Null(serverName);
        Assert.Empty(alpn);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("\x17\x03\x03\x00\x10")]
    [InlineData("\x16\x02")]
    [InlineData("\x16\x03\x05")]
    public void TryParse_NotAHandshakeRecord_NotTls(string start)
    {
        var bytes = Encoding.Latin1.GetBytes(start);

        Assert.Equal(ClientHelloParseStatus.NotTls, TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(bytes), out _, out _));
    }

    [Fact]
    public void TryParse_ZeroLengthRecord_Invalid()
    {
        Assert.Equal(ClientHelloParseStatus.Invalid, Parse([0x16, 0x03, 0x01, 0x00, 0x00]));
    }

    [Fact]
    public void TryParse_ServerHelloInsteadOfClientHello_Invalid()
    {
        var hello = BuildHello(Extension(0, ServerNameList("a.example")));
        hello[5] = 0x02;

        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(hello));
    }

    [Fact]
    public void TryParse_HandshakeLongerThanBound_InvalidFromItsHeader()
    {
        // A declared ClientHello of 20000 bytes is refused as soon as its length is known.
        byte[] start = [0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x4E, 0x20];

        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(start));
    }

    [Fact]
    public void TryParse_RecordLongerThanTlsMaximum_Invalid()
    {
        Assert.Equal(ClientHelloParseStatus.Invalid, Parse([0x16, 0x03, 0x01, 0x40, 0x01, 0x01]));
    }

    [Fact]
    public void TryParse_SecondRecordNotHandshake_Invalid()
    {
        var split = Reframe(BuildHello(Extension(0, ServerNameList("a.example"))), 20);
        split[25] = 0x17;

        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(split));
    }

    [Fact]
    public void TryParse_ServerNameLengthPastExtension_Invalid()
    {
        var sni = ServerNameList("a.example");
        sni[4] = 0x40;

        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(BuildHello(Extension(0, sni))));
    }

    [Fact]
    public void TryParse_DuplicateServerNameExtension_Invalid()
    {
        var hello = BuildHello(Extension(0, ServerNameList("a.example")), Extension(0, ServerNameList("b.example")));

        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(hello));
    }

    [Fact]
    public void TryParse_ServerNameWithSpace_Invalid()
    {
        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(BuildHello(Extension(0, ServerNameList("a example")))));
    }

    [Fact]
    public void TryParse_EmptyAlpnProtocol_Invalid()
    {
        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(BuildHello(Extension(16, [0x00, 0x01, 0x00]))));
    }

    [Fact]
    public void TryParse_ExtensionsLengthMismatch_Invalid()
    {
        var hello = BuildHello(Extension(0, ServerNameList("a.example")));

        // Drop the last byte from the extension block while keeping the outer lengths consistent.
        var shorter = hello.AsSpan(0, hello.Length - 1).ToArray();
        shorter[4]--;
        shorter[8]--;

        Assert.Equal(ClientHelloParseStatus.Invalid, Parse(shorter));
    }

    [Fact]
    public async Task TryParse_RandomCorruption_NeverThrows()
    {
        var hello = await CaptureClientHelloAsync("a.example", "h2", "http/1.1");
        var random = new Random(1234);

        for (var round = 0; round < 3000; round++)
        {
            var copy = (byte[])hello.Clone();
            var flips = random.Next(1, 4);
            for (var i = 0; i < flips; i++)
            {
                copy[random.Next(copy.Length)] = (byte)random.Next(256);
            }

            var length = random.Next(2) == 0 ? copy.Length : random.Next(copy.Length + 1);
            _ = TlsClientHelloParser.TryParse(Segmented(copy.AsSpan(0, length).ToArray(), random.Next(1, 64)), out _, out _);
        }
    }

    /// <summary>The first TLS record a real .NET SslStream client sends.</summary>
    internal static async Task<byte[]> CaptureClientHelloAsync(string targetHost, params string[] alpn)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        await client.ConnectAsync((IPEndPoint)listener.LocalEndpoint);
        using var server = await listener.AcceptSocketAsync();

        var ssl = new SslStream(client.GetStream());
        var options = new SslClientAuthenticationOptions { TargetHost = targetHost };
        if (alpn.Length > 0)
        {
            options.ApplicationProtocols = [.. alpn.Select(a => new SslApplicationProtocol(a))];
        }

        var handshake = ssl.AuthenticateAsClientAsync(options);
        var header = new byte[5];
        await ReceiveExactlyAsync(server, header);
        var body = new byte[(header[3] << 8) | header[4]];
        await ReceiveExactlyAsync(server, body);

        server.Close();
        client.Close();
        await Assert.ThrowsAnyAsync<Exception>(() => handshake.WaitAsync(TimeSpan.FromSeconds(10)));
        await ssl.DisposeAsync();
        return [.. header, .. body];
    }

    /// <summary>A ClientHello record with the given extensions (null: no extension block at all).</summary>
    internal static byte[] BuildHello(params byte[][]? extensions)
    {
        var body = new List<byte> { 0x03, 0x03 };
        body.AddRange(new byte[32]);
        body.Add(0);
        body.AddRange([0x00, 0x02, 0x13, 0x01]);
        body.AddRange([0x01, 0x00]);
        if (extensions is not null)
        {
            var block = extensions.SelectMany(e => e).ToArray();
            body.AddRange(U16(block.Length));
            body.AddRange(block);
        }

        var handshake = new List<byte> { 0x01, 0x00 };
        handshake.AddRange(U16(body.Count));
        handshake.AddRange(body);
        var record = new List<byte> { 0x16, 0x03, 0x01 };
        record.AddRange(U16(handshake.Count));
        record.AddRange(handshake);
        return [.. record];
    }

    internal static byte[] Extension(ushort type, byte[] data) => [.. U16(type), .. U16(data.Length), .. data];

    internal static byte[] ServerNameList(string name)
    {
        var bytes = Encoding.ASCII.GetBytes(name);
        byte[] entry = [0x00, .. U16(bytes.Length), .. bytes];
        return [.. U16(entry.Length), .. entry];
    }

    internal static byte[] AlpnList(params string[] protocols)
    {
        var list = protocols.SelectMany(p => new[] { (byte)p.Length }.Concat(Encoding.ASCII.GetBytes(p))).ToArray();
        return [.. U16(list.Length), .. list];
    }

    /// <summary>Re-frames a single-record hello into records of at most <paramref name="fragment"/> bytes.</summary>
    internal static byte[] Reframe(byte[] singleRecord, int fragment)
    {
        var handshake = singleRecord.AsSpan(5);
        var result = new List<byte>();
        for (var offset = 0; offset < handshake.Length; offset += fragment)
        {
            var length = Math.Min(fragment, handshake.Length - offset);
            result.AddRange([0x16, 0x03, 0x01, .. U16(length)]);
            result.AddRange(handshake.Slice(offset, length).ToArray());
        }

        return [.. result];
    }

    /// <summary>The bytes as a sequence of segments of <paramref name="size"/> bytes.</summary>
    internal static ReadOnlySequence<byte> Segmented(byte[] data, int size)
    {
        if (data.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        for (var offset = 0; offset < data.Length; offset += size)
        {
            var chunk = data.AsMemory(offset, Math.Min(size, data.Length - offset));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private static ClientHelloParseStatus Parse(byte[] bytes) =>
        TlsClientHelloParser.TryParse(new ReadOnlySequence<byte>(bytes), out _, out _);

    private static byte[] U16(int value) => [(byte)(value >> 8), (byte)value];

    private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await socket.ReceiveAsync(buffer.AsMemory(read), SocketFlags.None).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(n > 0, "the client closed before sending its ClientHello");
            read += n;
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
