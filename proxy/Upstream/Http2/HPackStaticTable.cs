using System.Collections.Frozen;
using System.Text;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>The HPACK static table (RFC 7541 Appendix A); indexes are 1-based as on the wire.</summary>
internal static class HPackStaticTable
{
    public const int Count = 61;

    // Slot 0 is unused so that wire indexes address the arrays directly.
    private static readonly string[] NameStrings =
    [
        "",
        ":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme",
        ":status", ":status", ":status", ":status", ":status", ":status", ":status",
        "accept-charset", "accept-encoding", "accept-language", "accept-ranges", "accept",
        "access-control-allow-origin", "age", "allow", "authorization", "cache-control",
        "content-disposition", "content-encoding", "content-language", "content-length",
        "content-location", "content-range", "content-type", "cookie", "date", "etag", "expect",
        "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
        "if-unmodified-since", "last-modified", "link", "location", "max-forwards",
        "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh", "retry-after",
        "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent",
        "vary", "via", "www-authenticate",
    ];

    // Only entries 2..16 carry a value; the rest are empty.
    private static readonly string[] ValueStrings = BuildValues();

    private static readonly byte[][] NameBytes = ToAscii(NameStrings);
    private static readonly byte[][] ValueBytes = ToAscii(ValueStrings);

    private static readonly FrozenDictionary<string, int> FirstIndexByName = BuildNameIndex();

    public static ReadOnlySpan<byte> Name(int index) => NameBytes[CheckIndex(index)];

    public static ReadOnlySpan<byte> Value(int index) => ValueBytes[CheckIndex(index)];

    /// <summary>
    /// The first entry named <paramref name="name"/>, in any case (HttpHeaders keeps known names
    /// as "Content-Type"; the encoder writes them lowercase), or 0.
    /// </summary>
    public static int IndexOfName(string name) =>
        FirstIndexByName.TryGetValue(name, out var index) ? index : 0;

    private static int CheckIndex(int index)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, Count);
        return index;
    }

    private static string[] BuildValues()
    {
        var values = new string[Count + 1];
        Array.Fill(values, string.Empty);
        values[2] = "GET";
        values[3] = "POST";
        values[4] = "/";
        values[5] = "/index.html";
        values[6] = "http";
        values[7] = "https";
        values[8] = "200";
        values[9] = "204";
        values[10] = "206";
        values[11] = "304";
        values[12] = "400";
        values[13] = "404";
        values[14] = "500";
        values[16] = "gzip, deflate";
        return values;
    }

    private static byte[][] ToAscii(string[] strings)
    {
        var bytes = new byte[strings.Length][];
        for (var i = 0; i < strings.Length; i++)
        {
            bytes[i] = Encoding.ASCII.GetBytes(strings[i]);
        }

        return bytes;
    }

    private static FrozenDictionary<string, int> BuildNameIndex()
    {
        var map = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        for (var i = Count; i >= 1; i--)
        {
            // Walking backwards leaves the lowest index for each name.
            map[NameStrings[i]] = i;
        }

        return map.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }
}
