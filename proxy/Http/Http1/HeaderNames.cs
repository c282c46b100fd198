namespace Herald.Proxy.Http.Http1;

/// <summary>Classifies header names (ASCII, case-insensitive) without allocating.</summary>
internal static class HeaderNames
{
    public static HeaderKind Classify(ReadOnlySpan<byte> name)
    {
        switch (name.Length)
        {
            case 2:
                return Is(name, "te"u8) ? HeaderKind.Te : HeaderKind.Other;
            case 4:
                return Is(name, "host"u8) ? HeaderKind.Host : HeaderKind.Other;
            case 6:
                return Is(name, "expect"u8) ? HeaderKind.Expect : HeaderKind.Other;
            case 7:
                if (Is(name, "upgrade"u8))
                {
                    return HeaderKind.Upgrade;
                }

                return Is(name, "trailer"u8) ? HeaderKind.Trailer : HeaderKind.Other;
            case 10:
                if (Is(name, "connection"u8))
                {
                    return HeaderKind.Connection;
                }

                if (Is(name, "keep-alive"u8))
                {
                    return HeaderKind.KeepAlive;
                }

                if (Is(name, "user-agent"u8))
                {
                    return HeaderKind.UserAgent;
                }

                return HeaderKind.Other;
            case 12:
                return Is(name, "x-request-id"u8) ? HeaderKind.XRequestId : HeaderKind.Other;
            case 14:
                if (Is(name, "content-length"u8))
                {
                    return HeaderKind.ContentLength;
                }

                return Is(name, "http2-settings"u8) ? HeaderKind.Http2Settings : HeaderKind.Other;
            case 15:
                return Is(name, "x-forwarded-for"u8) ? HeaderKind.XForwardedFor : HeaderKind.Other;
            case 16:
                return Is(name, "proxy-connection"u8) ? HeaderKind.ProxyConnection : HeaderKind.Other;
            case 17:
                if (Is(name, "transfer-encoding"u8))
                {
                    return HeaderKind.TransferEncoding;
                }

                return Is(name, "x-forwarded-proto"u8) ? HeaderKind.XForwardedProto : HeaderKind.Other;
            case 22:
                return Is(name, "x-envoy-original-path"u8) ? HeaderKind.XEnvoyOriginalPath : HeaderKind.Other;
            default:
                return HeaderKind.Other;
        }
    }

    /// <summary>Case-insensitive ASCII equality against a lower-case literal.</summary>
    public static bool Is(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerLiteral)
    {
        if (value.Length != lowerLiteral.Length)
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if ((uint)(c - 'A') <= 'Z' - 'A')
            {
                c |= 0x20;
            }

            if (c != lowerLiteral[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when a comma-separated header value holds the token (case-insensitive).</summary>
    public static bool ContainsToken(ReadOnlySpan<byte> value, ReadOnlySpan<byte> lowerToken)
    {
        while (!value.IsEmpty)
        {
            var comma = value.IndexOf((byte)',');
            var item = comma < 0 ? value : value[..comma];
            if (Is(item.Trim(" \t"u8), lowerToken))
            {
                return true;
            }

            if (comma < 0)
            {
                break;
            }

            value = value[(comma + 1)..];
        }

        return false;
    }

    /// <summary>RFC 9110 token characters.</summary>
    public static bool IsTokenChar(byte c) =>
        c < 128 && TokenTable[c];

    private static readonly bool[] TokenTable = BuildTokenTable();

    private static bool[] BuildTokenTable()
    {
        var table = new bool[128];
        for (var c = '0'; c <= '9'; c++)
        {
            table[c] = true;
        }

        for (var c = 'a'; c <= 'z'; c++)
        {
            table[c] = true;
            table[c - 32] = true;
        }

        foreach (var c in "!#$%&'*+-.^_`|~")
        {
            table[c] = true;
        }

        return table;
    }
}
