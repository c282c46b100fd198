using System.Buffers;

namespace Herald.Proxy.Http.Routing;

/// <summary>
/// One QueryParameterMatcher: the first parameter with the name must be present and, with a
/// string match, its value (percent-decoded, '+' as space, as Envoy decodes it) must match.
/// </summary>
internal sealed class QueryCondition
{
    private readonly byte[] _name;
    private readonly ByteStringMatcher? _matcher;
    private readonly bool _neverMatches;

    /// <param name="matcher">Null for a presence match.</param>
    /// <param name="neverMatches">Envoy's <c>present_match: false</c>, which matches no request.</param>
    public QueryCondition(byte[] name, ByteStringMatcher? matcher, bool neverMatches = false)
    {
        _name = name;
        _matcher = matcher;
        _neverMatches = neverMatches;
    }

    public bool Matches(IRequestHead request)
    {
        if (_neverMatches)
        {
            return false;
        }

        var rest = request.Query;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)'&');
            var pair = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];

            var equals = pair.IndexOf((byte)'=');
            var name = equals < 0 ? pair : pair[..equals];
            if (!name.SequenceEqual(_name))
            {
                continue;
            }

            if (_matcher is null)
            {
                return true;
            }

            var value = equals < 0 ? default : pair[(equals + 1)..];
            return MatchDecoded(value);
        }

        return false;
    }

    private bool MatchDecoded(ReadOnlySpan<byte> value)
    {
        if (value.IndexOfAny((byte)'%', (byte)'+') < 0)
        {
            return _matcher!.Matches(value);
        }

        var rented = ArrayPool<byte>.Shared.Rent(value.Length);
        try
        {
            var length = PercentDecode(value, rented);
            return _matcher!.Matches(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static int PercentDecode(ReadOnlySpan<byte> value, Span<byte> output)
    {
        var written = 0;
        for (var i = 0; i < value.Length; i++)
        {
            var b = value[i];
            if (b == '%' && i + 2 < value.Length && IsHex(value[i + 1]) && IsHex(value[i + 2]))
            {
                output[written++] = (byte)((HexValue(value[i + 1]) << 4) | HexValue(value[i + 2]));
                i += 2;
            }
            else
            {
                output[written++] = b == '+' ? (byte)' ' : b;
            }
        }

        return written;
    }

    private static bool IsHex(byte b) => b is (>= (byte)'0' and <= (byte)'9') or (>= (byte)'a' and <= (byte)'f') or (>= (byte)'A' and <= (byte)'F');

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
