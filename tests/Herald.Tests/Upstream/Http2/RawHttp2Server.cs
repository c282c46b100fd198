using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.Upstream.Http2;

/// <summary>
/// A hand-driven HTTP/2 server for what a real one will not do: the test accepts each
/// connection, reads the client's frames one by one and writes frames it crafts itself.
/// Nothing here answers on its own (no SETTINGS, no ACKs) unless the test says so.
/// </summary>
internal sealed class RawHttp2Server : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public RawHttp2Server()
    {
        _listener.Start();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>
    /// The next connection, its 24-byte client preface already read and checked and the
    /// server's preface (a SETTINGS frame with <paramref name="settings"/>) sent, as RFC 9113
    /// requires: Herald's client sends no stream before it.
    /// </summary>
    public async Task<RawHttp2Connection> AcceptAsync(CancellationToken cancellationToken, params (ushort Id, uint Value)[] settings)
    {
        var socket = await _listener.AcceptSocketAsync(cancellationToken);
        var connection = new RawHttp2Connection(socket);
        await connection.ReadPrefaceAsync(cancellationToken);
        await connection.SendSettingsAsync(settings);
        return connection;
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>Frame types and flags as RFC 9113 numbers them, kept apart from the client's own constants.</summary>
internal static class RawFrameType
{
    public const byte Data = 0x0;
    public const byte Headers = 0x1;
    public const byte RstStream = 0x3;
    public const byte Settings = 0x4;
    public const byte PushPromise = 0x5;
    public const byte Ping = 0x6;
    public const byte GoAway = 0x7;
    public const byte WindowUpdate = 0x8;
    public const byte Continuation = 0x9;

    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
}

/// <summary>One frame as read from the client.</summary>
internal sealed record RawFrame(byte Type, byte Flags, int StreamId, byte[] Payload)
{
    public uint UInt32At(int offset) => BinaryPrimitives.ReadUInt32BigEndian(Payload.AsSpan(offset));

    public bool Has(byte flag) => (Flags & flag) != 0;

    public override string ToString() => $"type {Type} flags {Flags:x2} stream {StreamId} length {Payload.Length}";
}

/// <summary>One accepted connection of <see cref="RawHttp2Server"/>.</summary>
internal sealed class RawHttp2Connection : IDisposable
{
    private static readonly byte[] Preface = Encoding.ASCII.GetBytes("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private long _pings;

    public RawHttp2Connection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Every frame read so far, in order.</summary>
    public List<RawFrame> Received { get; } = [];

    public async Task ReadPrefaceAsync(CancellationToken cancellationToken)
    {
        var preface = new byte[Preface.Length];
        await _stream.ReadExactlyAsync(preface, cancellationToken);
        if (!preface.AsSpan().SequenceEqual(Preface))
        {
            throw new InvalidOperationException("the client did not send the HTTP/2 preface");
        }
    }

    /// <summary>The next frame, or null when the client closed (or reset) the connection.</summary>
    public async Task<RawFrame?> ReadFrameAsync(CancellationToken cancellationToken)
    {
        var header = new byte[9];
        try
        {
            await _stream.ReadExactlyAsync(header, cancellationToken);
            var length = (header[0] << 16) | (header[1] << 8) | header[2];
            var payload = new byte[length];
            await _stream.ReadExactlyAsync(payload, cancellationToken);
            var frame = new RawFrame(header[3], header[4], (int)(BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(5)) & 0x7fffffffu), payload);
            Received.Add(frame);
            return frame;
        }
        catch (EndOfStreamException)
        {
            return null;
        }
        catch (IOException e) when (e.InnerException is SocketException)
        {
            return null;
        }
    }

    /// <summary>Reads until a frame matches; null when the connection ends first.</summary>
    public async Task<RawFrame?> TryReadUntilAsync(Func<RawFrame, bool> match, CancellationToken cancellationToken)
    {
        while (await ReadFrameAsync(cancellationToken) is { } frame)
        {
            if (match(frame))
            {
                return frame;
            }
        }

        return null;
    }

    public async Task<RawFrame> ReadUntilAsync(Func<RawFrame, bool> match, CancellationToken cancellationToken) =>
        await TryReadUntilAsync(match, cancellationToken)
            ?? throw new InvalidOperationException("the client closed the connection before the expected frame");

    /// <summary>The next request's HEADERS (SETTINGS, WINDOW_UPDATE and the like before it are skipped).</summary>
    public Task<RawFrame> ReadHeadersAsync(CancellationToken cancellationToken) =>
        ReadUntilAsync(f => f.Type == RawFrameType.Headers, cancellationToken);

    /// <summary>Until the connection ends: true when it did (EOF or reset) within the token's time.</summary>
    public async Task<bool> ReadToEndAsync(CancellationToken cancellationToken)
    {
        while (await ReadFrameAsync(cancellationToken) is not null)
        {
        }

        return true;
    }

    /// <summary>
    /// A PING and the wait for its ACK: the client handles frames in order, so everything sent
    /// before is processed by then. Returns the frames read meanwhile.
    /// </summary>
    public async Task<List<RawFrame>> SyncAsync(CancellationToken cancellationToken)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteInt64BigEndian(payload, 0x5359_4e43_0000_0000L + Interlocked.Increment(ref _pings));
        var first = Received.Count;
        await SendAsync(RawFrameType.Ping, 0, 0, payload);
        await ReadUntilAsync(f => f.Type == RawFrameType.Ping && f.Has(RawFrameType.Ack) && f.Payload.AsSpan().SequenceEqual(payload), cancellationToken);
        return Received[first..];
    }

    public Task SendAsync(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload) => SendRawAsync(Frame(type, flags, streamId, payload));

    public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

    public Task SendSettingsAsync(params (ushort Id, uint Value)[] settings)
    {
        var payload = new byte[settings.Length * 6];
        for (var i = 0; i < settings.Length; i++)
        {
            BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), settings[i].Id);
            BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan((i * 6) + 2), settings[i].Value);
        }

        return SendAsync(RawFrameType.Settings, 0, 0, payload);
    }

    public Task SendHeadersAsync(int streamId, byte[] block, bool endStream) =>
        SendAsync(RawFrameType.Headers, (byte)(RawFrameType.EndHeaders | (endStream ? RawFrameType.EndStream : 0)), streamId, block);

    public Task SendRstStreamAsync(int streamId, uint code) => SendAsync(RawFrameType.RstStream, 0, streamId, UInt32(code));

    public Task SendGoAwayAsync(int lastStreamId, uint code)
    {
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)lastStreamId);
        BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan(4), code);
        return SendAsync(RawFrameType.GoAway, 0, 0, payload);
    }

    public static byte[] UInt32(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Frame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[9 + payload.Length];
        frame[0] = (byte)(payload.Length >> 16);
        frame[1] = (byte)(payload.Length >> 8);
        frame[2] = (byte)payload.Length;
        frame[3] = type;
        frame[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(5), (uint)streamId);
        payload.CopyTo(frame.AsSpan(9));
        return frame;
    }

    public void Dispose()
    {
        _stream.Dispose();
        _socket.Dispose();
    }
}

/// <summary>A response header block written field by field (RFC 7541 representations).</summary>
internal sealed class HeaderBlock
{
    private readonly List<byte> _bytes = [];

    /// <summary>An indexed field: static entries 1-61, dynamic ones from 62.</summary>
    public HeaderBlock Indexed(int index)
    {
        HPackTestData.Integer(_bytes, 0x80, 7, index);
        return this;
    }

    /// <summary>A literal with a new name, with or without incremental indexing, plain or Huffman-coded.</summary>
    public HeaderBlock Literal(string name, string value, bool index = false, bool huffman = false)
    {
        _bytes.Add(index ? (byte)0x40 : (byte)0x00);
        String(name, huffman);
        String(value, huffman);
        return this;
    }

    /// <summary>A literal without indexing whose name is a table entry.</summary>
    public HeaderBlock LiteralIndexedName(int nameIndex, string value, bool huffman = false)
    {
        HPackTestData.Integer(_bytes, 0x00, 4, nameIndex);
        String(value, huffman);
        return this;
    }

    public HeaderBlock Raw(params byte[] bytes)
    {
        _bytes.AddRange(bytes);
        return this;
    }

    public byte[] ToArray() => [.. _bytes];

    /// <summary>":status: 200" from the static table, then nothing else.</summary>
    public static byte[] Ok() => new HeaderBlock().Indexed(8).ToArray();

    private void String(string text, bool huffman)
    {
        var raw = Encoding.Latin1.GetBytes(text);
        var bytes = huffman ? HPackTestData.HuffmanEncode(raw) : raw;
        HPackTestData.Integer(_bytes, huffman ? (byte)0x80 : (byte)0x00, 7, bytes.Length);
        _bytes.AddRange(bytes);
    }
}
