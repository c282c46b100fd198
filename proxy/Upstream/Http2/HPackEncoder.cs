namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// Encodes request header fields for Herald's HTTP/2 client. It never inserts into the
/// peer's dynamic table (so a table size change from the peer needs no answer) and never
/// uses Huffman: fields are static-table references or literals without indexing, which
/// costs a few bytes on the wire and nothing per request in state or CPU.
/// </summary>
internal static class HPackEncoder
{
    public const int MethodGet = 2;
    public const int MethodPost = 3;
    public const int PathRoot = 4;
    public const int SchemeHttp = 6;
    public const int SchemeHttps = 7;
    public const int Authority = 1;
    public const int Method = 2;
    public const int Path = 4;

    /// <summary>An indexed header field (static table entry with both name and value).</summary>
    public static void WriteIndexed(FrameBuffer buffer, int index)
    {
        var span = buffer.GetSpan(8);
        buffer.Advance(WriteInteger(span, index, 7, 0x80));
    }

    /// <summary>A literal without indexing whose name is a static-table entry.</summary>
    public static void WriteLiteral(FrameBuffer buffer, int nameIndex, string value)
    {
        var span = buffer.GetSpan(16 + value.Length);
        var written = WriteInteger(span, nameIndex, 4, 0x00);
        written += WriteString(span[written..], value);
        buffer.Advance(written);
    }

    /// <summary>A literal without indexing; the name is written in lowercase, as HTTP/2 requires.</summary>
    public static void WriteLiteral(FrameBuffer buffer, string name, string value)
    {
        // Regular names never start with ':', so a pseudo-header entry never matches here.
        if (HPackStaticTable.IndexOfName(name) is > 0 and var index)
        {
            WriteLiteral(buffer, index, value);
            return;
        }

        var span = buffer.GetSpan(24 + name.Length + value.Length);
        span[0] = 0x00;
        var written = 1 + WriteInteger(span[1..], name.Length, 7, 0x00);
        foreach (var c in name)
        {
            if (c > 0x7f || c <= 0x20 || c == ':')
            {
                throw new HttpRequestException($"request header name '{name}' is not a valid HTTP/2 field name");
            }

            span[written++] = (byte)(c is >= 'A' and <= 'Z' ? c + 32 : c);
        }

        written += WriteString(span[written..], value);
        buffer.Advance(written);
    }

    private static int WriteString(Span<byte> destination, string value)
    {
        var written = WriteInteger(destination, value.Length, 7, 0x00);
        foreach (var c in value)
        {
            if (c > 0xff)
            {
                throw new HttpRequestException("a request header value has a character outside Latin-1");
            }

            destination[written++] = (byte)c;
        }

        return written;
    }

    /// <summary>RFC 7541 section 5.1 integer with an N-bit prefix; <paramref name="pattern"/> fills the bits above it.</summary>
    internal static int WriteInteger(Span<byte> destination, int value, int prefixBits, byte pattern)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            destination[0] = (byte)(pattern | value);
            return 1;
        }

        destination[0] = (byte)(pattern | max);
        var written = 1;
        value -= max;
        while (value >= 0x80)
        {
            destination[written++] = (byte)((value & 0x7f) | 0x80);
            value >>= 7;
        }

        destination[written++] = (byte)value;
        return written;
    }
}
