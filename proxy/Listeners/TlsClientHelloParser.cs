using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Herald.Proxy.Listeners;

internal enum ClientHelloParseStatus
{
    /// <summary>The bytes so far are a valid beginning of a ClientHello; read more.</summary>
    NeedMoreData,

    /// <summary>A complete ClientHello was parsed.</summary>
    Ok,

    /// <summary>The bytes do not start with a TLS handshake record.</summary>
    NotTls,

    /// <summary>TLS record framing, but the handshake is malformed or too large.</summary>
    Invalid,
}

/// <summary>
/// Reads the server name (SNI) and ALPN protocols from the ClientHello at the start of a
/// TLS connection, without terminating TLS. Every length is checked against its container;
/// the ClientHello may span several records, and is bounded to <see cref="MaxHandshakeLength"/>.
/// </summary>
internal static class TlsClientHelloParser
{
    /// <summary>Largest ClientHello accepted, handshake header included (record headers excluded).</summary>
    public const int MaxHandshakeLength = 16 * 1024;

    private const int RecordHeaderLength = 5;
    private const int HandshakeHeaderLength = 4;
    private const int MaxRecordLength = 16 * 1024;
    private const byte HandshakeRecord = 0x16;
    private const byte ClientHelloType = 0x01;
    private const ushort ServerNameExtension = 0;
    private const ushort AlpnExtension = 16;
    private const int MaxServerNameLength = 255;

    private static readonly IReadOnlyList<string> NoProtocols = [];

    public static ClientHelloParseStatus TryParse(ReadOnlySequence<byte> data, out string? serverName, out IReadOnlyList<string> alpn)
    {
        serverName = null;
        alpn = NoProtocols;

        var status = CheckRecordHeaderPrefix(data, first: true);
        if (status != ClientHelloParseStatus.Ok)
        {
            return status;
        }

        byte[]? rented = null;
        try
        {
            var reader = new SequenceReader<byte>(data);
            Span<byte> header = stackalloc byte[RecordHeaderLength];
            var collected = 0;
            var messageLength = -1;
            var first = true;
            while (true)
            {
                if (!reader.TryCopyTo(header))
                {
                    // A partial header of a later record: it must still look like a handshake record.
                    var partial = CheckRecordHeaderPrefix(data.Slice(reader.Position), first);
                    return partial == ClientHelloParseStatus.Ok ? ClientHelloParseStatus.NeedMoreData : partial;
                }

                if (header[0] != HandshakeRecord || header[1] != 3 || header[2] > 4)
                {
                    return first ? ClientHelloParseStatus.NotTls : ClientHelloParseStatus.Invalid;
                }

                var recordLength = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
                if (recordLength is 0 or > MaxRecordLength)
                {
                    return ClientHelloParseStatus.Invalid;
                }

                first = false;
                reader.Advance(RecordHeaderLength);
                rented ??= ArrayPool<byte>.Shared.Rent(MaxHandshakeLength);

                // Copy what this record holds (or what has arrived of it) into the handshake buffer.
                var available = (int)Math.Min(recordLength, reader.Remaining);
                var take = Math.Min(available, MaxHandshakeLength - collected);
                reader.UnreadSequence.Slice(0, take).CopyTo(rented.AsSpan(collected));
                collected += take;
                reader.Advance(available);

                if (messageLength < 0 && collected >= HandshakeHeaderLength)
                {
                    if (rented[0] != ClientHelloType)
                    {
                        return ClientHelloParseStatus.Invalid;
                    }

                    var bodyLength = (rented[1] << 16) | (rented[2] << 8) | rented[3];
                    if (bodyLength > MaxHandshakeLength - HandshakeHeaderLength)
                    {
                        return ClientHelloParseStatus.Invalid;
                    }

                    messageLength = HandshakeHeaderLength + bodyLength;
                }

                if (messageLength >= 0 && collected >= messageLength)
                {
                    var body = rented.AsSpan(HandshakeHeaderLength, messageLength - HandshakeHeaderLength);
                    return ParseClientHello(body, out serverName, out alpn);
                }

                if (available < recordLength)
                {
                    return ClientHelloParseStatus.NeedMoreData;
                }
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Checks the (possibly partial) record header at the start of <paramref name="data"/>.</summary>
    private static ClientHelloParseStatus CheckRecordHeaderPrefix(ReadOnlySequence<byte> data, bool first)
    {
        Span<byte> prefix = stackalloc byte[3];
        var length = (int)Math.Min(data.Length, prefix.Length);
        data.Slice(0, length).CopyTo(prefix);
        var bad = first ? ClientHelloParseStatus.NotTls : ClientHelloParseStatus.Invalid;
        if (length == 0)
        {
            return ClientHelloParseStatus.NeedMoreData;
        }

        if (prefix[0] != HandshakeRecord || (length > 1 && prefix[1] != 3) || (length > 2 && prefix[2] > 4))
        {
            return bad;
        }

        return length < prefix.Length || data.Length < RecordHeaderLength
            ? ClientHelloParseStatus.NeedMoreData
            : ClientHelloParseStatus.Ok;
    }

    private static ClientHelloParseStatus ParseClientHello(ReadOnlySpan<byte> body, out string? serverName, out IReadOnlyList<string> alpn)
    {
        serverName = null;
        alpn = NoProtocols;

        // legacy_version (2) + random (32)
        var pos = 34;
        if (body.Length < pos + 1)
        {
            return ClientHelloParseStatus.Invalid;
        }

        int sessionIdLength = body[pos];
        pos += 1;
        if (sessionIdLength > 32 || !Skip(body, ref pos, sessionIdLength))
        {
            return ClientHelloParseStatus.Invalid;
        }

        if (!TryReadUInt16(body, ref pos, out var cipherSuitesLength)
            || cipherSuitesLength < 2 || (cipherSuitesLength & 1) != 0
            || !Skip(body, ref pos, cipherSuitesLength))
        {
            return ClientHelloParseStatus.Invalid;
        }

        if (pos >= body.Length)
        {
            return ClientHelloParseStatus.Invalid;
        }

        int compressionLength = body[pos];
        pos += 1;
        if (compressionLength < 1 || !Skip(body, ref pos, compressionLength))
        {
            return ClientHelloParseStatus.Invalid;
        }

        if (pos == body.Length)
        {
            // No extensions at all (old clients): valid, without SNI or ALPN.
            return ClientHelloParseStatus.Ok;
        }

        if (!TryReadUInt16(body, ref pos, out var extensionsLength) || extensionsLength != body.Length - pos)
        {
            return ClientHelloParseStatus.Invalid;
        }

        var sawServerName = false;
        var sawAlpn = false;
        while (pos < body.Length)
        {
            if (!TryReadUInt16(body, ref pos, out var type) || !TryReadUInt16(body, ref pos, out var length)
                || length > body.Length - pos)
            {
                return ClientHelloParseStatus.Invalid;
            }

            var extension = body.Slice(pos, length);
            pos += length;
            if (type == ServerNameExtension)
            {
                if (sawServerName || !TryParseServerName(extension, out serverName))
                {
                    return ClientHelloParseStatus.Invalid;
                }

                sawServerName = true;
            }
            else if (type == AlpnExtension)
            {
                if (sawAlpn || !TryParseAlpn(extension, out alpn))
                {
                    return ClientHelloParseStatus.Invalid;
                }

                sawAlpn = true;
            }
        }

        return ClientHelloParseStatus.Ok;
    }

    private static bool TryParseServerName(ReadOnlySpan<byte> extension, out string? serverName)
    {
        serverName = null;
        var pos = 0;
        if (!TryReadUInt16(extension, ref pos, out var listLength) || listLength != extension.Length - pos || listLength == 0)
        {
            return false;
        }

        while (pos < extension.Length)
        {
            var nameType = extension[pos];
            pos += 1;
            if (!TryReadUInt16(extension, ref pos, out var nameLength) || nameLength > extension.Length - pos)
            {
                return false;
            }

            var name = extension.Slice(pos, nameLength);
            pos += nameLength;
            if (nameType != 0)
            {
                continue;
            }

            // RFC 6066: at most one name of each type.
            if (serverName is not null || !IsValidHostName(name))
            {
                return false;
            }

            serverName = LowerAscii(name);
        }

        return true;
    }

    private static bool TryParseAlpn(ReadOnlySpan<byte> extension, out IReadOnlyList<string> protocols)
    {
        protocols = NoProtocols;
        var pos = 0;
        if (!TryReadUInt16(extension, ref pos, out var listLength) || listLength != extension.Length - pos || listLength < 2)
        {
            return false;
        }

        // First pass validates and counts, so the result is one exact-size array.
        var count = 0;
        for (var p = pos; p < extension.Length;)
        {
            int length = extension[p];
            if (length == 0 || length > extension.Length - p - 1)
            {
                return false;
            }

            p += 1 + length;
            count++;
        }

        var result = new string[count];
        for (var i = 0; i < count; i++)
        {
            int length = extension[pos];
            result[i] = ProtocolName(extension.Slice(pos + 1, length));
            pos += 1 + length;
        }

        protocols = result;
        return true;
    }

    private static string ProtocolName(ReadOnlySpan<byte> id)
    {
        if (id.SequenceEqual("h2"u8))
        {
            return "h2";
        }

        if (id.SequenceEqual("http/1.1"u8))
        {
            return "http/1.1";
        }

        // Protocol ids are opaque bytes; Latin-1 keeps every byte.
        return Encoding.Latin1.GetString(id);
    }

    private static bool IsValidHostName(ReadOnlySpan<byte> name)
    {
        if (name.Length is 0 or > MaxServerNameLength)
        {
            return false;
        }

        foreach (var b in name)
        {
            var ok = b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9')
                or (byte)'-' or (byte)'.' or (byte)'_';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static string LowerAscii(ReadOnlySpan<byte> name)
    {
        return string.Create(name.Length, name, static (chars, bytes) =>
        {
            for (var i = 0; i < bytes.Length; i++)
            {
                var b = bytes[i];
                chars[i] = (char)(b is >= (byte)'A' and <= (byte)'Z' ? b + 32 : b);
            }
        });
    }

    private static bool TryReadUInt16(ReadOnlySpan<byte> span, ref int pos, out int value)
    {
        if (span.Length - pos < 2)
        {
            value = 0;
            return false;
        }

        value = BinaryPrimitives.ReadUInt16BigEndian(span[pos..]);
        pos += 2;
        return true;
    }

    private static bool Skip(ReadOnlySpan<byte> span, ref int pos, int count)
    {
        if (span.Length - pos < count)
        {
            return false;
        }

        pos += count;
        return true;
    }
}
