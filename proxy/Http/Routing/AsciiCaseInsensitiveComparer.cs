using System.Diagnostics.CodeAnalysis;

namespace Herald.Proxy.Http.Routing;

/// <summary>
/// Keys are lower-case byte arrays; lookups take request bytes of any case, so the domain
/// lookup needs neither a string nor a lower-cased copy of the authority.
/// </summary>
internal sealed class AsciiCaseInsensitiveComparer
    : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static AsciiCaseInsensitiveComparer Instance { get; } = new();

    public bool Equals(byte[]? x, byte[]? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && AsciiBytes.EqualsLower(x, AsciiBytes.ToLowerCopy(y)));

    public int GetHashCode([DisallowNull] byte[] obj) => AsciiBytes.HashLower(obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => AsciiBytes.EqualsLower(alternate, other);

    public int GetHashCode(ReadOnlySpan<byte> alternate) => AsciiBytes.HashLower(alternate);

    public byte[] Create(ReadOnlySpan<byte> alternate) => AsciiBytes.ToLowerCopy(alternate);
}
