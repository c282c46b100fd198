namespace Herald.Proxy.Http.Routing;

/// <summary>Byte-level, ASCII-only case folding for matching request bytes without strings.</summary>
internal static class AsciiBytes
{
    public static byte ToLower(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;

    /// <summary>Compares <paramref name="value"/> with a pattern that is already lower case.</summary>
    public static bool EqualsLower(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerPattern)
    {
        if (value.Length != lowerPattern.Length)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            if (ToLower(value[i]) != lowerPattern[i])
            {
                return false;
            }
        }

        return true;
    }

    public static bool StartsWithLower(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerPattern) =>
        value.Length >= lowerPattern.Length && EqualsLower(value[..lowerPattern.Length], lowerPattern);

    public static bool EndsWithLower(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerPattern) =>
        value.Length >= lowerPattern.Length && EqualsLower(value[(value.Length - lowerPattern.Length)..], lowerPattern);

    public static bool ContainsLower(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerPattern)
    {
        for (var start = 0; start + lowerPattern.Length <= value.Length; start++)
        {
            if (EqualsLower(value.Slice(start, lowerPattern.Length), lowerPattern))
            {
                return true;
            }
        }

        return false;
    }

    public static byte[] ToLowerCopy(ReadOnlySpan<byte> value)
    {
        var copy = value.ToArray();
        for (var i = 0; i < copy.Length; i++)
        {
            copy[i] = ToLower(copy[i]);
        }

        return copy;
    }

    /// <summary>Case-insensitive ASCII hash, consistent with <see cref="EqualsLower"/> on lowered keys.</summary>
    public static int HashLower(ReadOnlySpan<byte> value)
    {
        var hash = 2166136261u;
        foreach (var b in value)
        {
            hash = (hash ^ ToLower(b)) * 16777619u;
        }

        return (int)hash;
    }
}
