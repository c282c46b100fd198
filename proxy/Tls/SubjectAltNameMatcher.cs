using System.Text.RegularExpressions;

namespace Herald.Proxy.Tls;

/// <summary>One of Envoy's <c>match_typed_subject_alt_names</c>: a SAN type and a string matcher.</summary>
internal sealed class SubjectAltNameMatcher
{
    public enum NameType
    {
        Dns,
        Uri,
        IpAddress,
        Email,
    }

    public enum MatchKind
    {
        Exact,
        Prefix,
        Suffix,
        Contains,
        Regex,
    }

    public required NameType Type { get; init; }

    public required MatchKind Kind { get; init; }

    public required string Value { get; init; }

    public bool IgnoreCase { get; init; }

    public Regex? Pattern { get; init; }

    public bool Matches(SubjectAltName name)
    {
        if (name.Type != Type)
        {
            return false;
        }

        var comparison = IgnoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        return Kind switch
        {
            // An exact DNS matcher honours a wildcard in the certificate, as Envoy does.
            MatchKind.Exact => Type == NameType.Dns && name.Value.StartsWith("*.", StringComparison.Ordinal)
                ? CertificateNames.DnsNameMatches(name.Value, Value)
                : string.Equals(name.Value, Value, comparison),
            MatchKind.Prefix => name.Value.StartsWith(Value, comparison),
            MatchKind.Suffix => name.Value.EndsWith(Value, comparison),
            MatchKind.Contains => name.Value.Contains(Value, comparison),
            _ => Pattern!.IsMatch(name.Value),
        };
    }

    public override string ToString() => $"{Type}:{Kind.ToString().ToLowerInvariant()}:{Value}";
}

/// <summary>A subject alternative name of a certificate.</summary>
internal readonly record struct SubjectAltName(SubjectAltNameMatcher.NameType Type, string Value)
{
    public override string ToString() => $"{Type switch
    {
        SubjectAltNameMatcher.NameType.Dns => "DNS",
        SubjectAltNameMatcher.NameType.Uri => "URI",
        SubjectAltNameMatcher.NameType.IpAddress => "IP",
        _ => "email",
    }}:{Value}";
}
