using System.Text;

namespace Herald.Proxy.Http.Routing;

/// <summary>
/// One of a route's hash_policy entries: what request value feeds a consistent-hash load
/// balancer. Values are hashed with XXH64, seed 0, as Envoy does.
/// </summary>
internal sealed class HashPolicy
{
    private static readonly byte[] CookieHeader = "cookie"u8.ToArray();
    private static readonly byte[] MappedIPv4Prefix = "::ffff:"u8.ToArray();

    private readonly HeaderSelector? _header;
    private readonly byte[] _cookieName;

    private HashPolicy(HashPolicyKind kind, string name, bool terminal, HeaderSelector? header)
    {
        Kind = kind;
        Name = name;
        Terminal = terminal;
        _header = header;
        _cookieName = Encoding.UTF8.GetBytes(name);
    }

    internal enum HashPolicyKind
    {
        Header,
        Cookie,
        SourceIp,
    }

    public HashPolicyKind Kind { get; }

    /// <summary>Header name (lower case) or cookie name; empty for the source address.</summary>
    public string Name { get; }

    /// <summary>When this policy produced a hash, later policies are skipped.</summary>
    public bool Terminal { get; }

    public static HashPolicy ForHeader(HeaderSelector header, bool terminal) => new(HashPolicyKind.Header, header.Name, terminal, header);

    public static HashPolicy ForCookie(string name, bool terminal) => new(HashPolicyKind.Cookie, name, terminal, null);

    public static HashPolicy ForSourceIp(bool terminal) => new(HashPolicyKind.SourceIp, string.Empty, terminal, null);

    /// <summary>Null when the request lacks the value this policy hashes.</summary>
    public ulong? Evaluate(IRequestHead request)
    {
        switch (Kind)
        {
            case HashPolicyKind.Header:
                var scratch = default(ScratchBuffer);
                try
                {
                    return _header!.TryGet(request, ref scratch, out var value) ? XxHash64.Hash(value) : null;
                }
                finally
                {
                    scratch.Dispose();
                }

            case HashPolicyKind.Cookie:
                return request.TryGetHeader(CookieHeader, out var cookies) && TryFindCookie(cookies, _cookieName, out var cookie)
                    ? XxHash64.Hash(cookie)
                    : null;
            default:
                return HashSourceIp(request);
        }
    }

    /// <summary>Finds <paramref name="name"/> in a Cookie header (<c>a=1; b="2"</c>), unquoting its value.</summary>
    internal static bool TryFindCookie(ReadOnlySpan<byte> header, ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        var rest = header;
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf((byte)';');
            var pair = (end < 0 ? rest : rest[..end]).Trim(" \t"u8);
            rest = end < 0 ? default : rest[(end + 1)..];
            var equals = pair.IndexOf((byte)'=');
            if (equals < 0 || !pair[..equals].TrimEnd(" \t"u8).SequenceEqual(name))
            {
                continue;
            }

            value = pair[(equals + 1)..].TrimStart(" \t"u8);
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
            {
                value = value[1..^1];
            }

            return true;
        }

        value = default;
        return false;
    }

    private static ulong? HashSourceIp(IRequestHead request)
    {
        var address = request.RemoteAddress;
        if (address is null)
        {
            return null;
        }

        Span<byte> text = stackalloc byte[64];
        if (!address.TryFormat(text, out var written))
        {
            return null;
        }

        // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; Envoy hashes a.b.c.d.
        var formatted = text[..written];
        if (formatted.StartsWith(MappedIPv4Prefix) && formatted.IndexOf((byte)'.') > 0)
        {
            formatted = formatted[MappedIPv4Prefix.Length..];
        }

        return XxHash64.Hash(formatted);
    }
}
