using System.Text;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// Strings for decoded response fields, without a new string per field: names of the static
/// table and the usual gRPC ones are made once, and the last value seen for each name is
/// reused when the bytes repeat (content-type, grpc-status and server do, response after
/// response). Used by one connection's read loop only.
/// </summary>
internal sealed class ResponseHeaderStrings
{
    private const int MaxCachedNames = 64;
    private const int MaxCachedValueLength = 128;

    private static readonly string[] WellKnownNames = BuildWellKnownNames();

    private readonly Dictionary<string, string> _lastValues = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];

    public string Name(ReadOnlySpan<byte> name)
    {
        foreach (var known in WellKnownNames)
        {
            if (Matches(known, name))
            {
                return known;
            }
        }

        foreach (var seen in _names)
        {
            if (Matches(seen, name))
            {
                return seen;
            }
        }

        var text = Encoding.Latin1.GetString(name);
        if (_names.Count < MaxCachedNames)
        {
            _names.Add(text);
        }

        return text;
    }

    /// <summary>The value of the field whose name <see cref="Name"/> returned as <paramref name="nameText"/>.</summary>
    public string Value(string nameText, ReadOnlySpan<byte> value)
    {
        if (value.Length > MaxCachedValueLength)
        {
            return Encoding.Latin1.GetString(value);
        }

        if (_lastValues.TryGetValue(nameText, out var last) && Matches(last, value))
        {
            return last;
        }

        var text = Encoding.Latin1.GetString(value);
        if (_lastValues.Count < MaxCachedNames || _lastValues.ContainsKey(nameText))
        {
            _lastValues[nameText] = text;
        }

        return text;
    }

    private static bool Matches(string text, ReadOnlySpan<byte> bytes)
    {
        if (text.Length != bytes.Length)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            if (text[i] != bytes[i])
            {
                return false;
            }
        }

        return true;
    }

    private static string[] BuildWellKnownNames()
    {
        var names = new List<string> { "grpc-status", "grpc-message", "grpc-encoding", "grpc-accept-encoding", "x-envoy-upstream-service-time" };
        for (var i = 1; i <= HPackStaticTable.Count; i++)
        {
            var name = Encoding.ASCII.GetString(HPackStaticTable.Name(i));
            if (!name.StartsWith(':') && !names.Contains(name))
            {
                names.Add(name);
            }
        }

        // The most frequent response fields first: the lookup is a linear scan.
        names.Sort((a, b) => Rank(a).CompareTo(Rank(b)));
        return [.. names];

        static int Rank(string name) => name switch
        {
            "content-type" => 0,
            "grpc-status" => 1,
            "date" => 2,
            "server" => 3,
            "content-length" => 4,
            "grpc-message" => 5,
            _ => 10,
        };
    }
}
