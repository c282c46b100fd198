using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Proxy.Http.Routing;

/// <summary>Envoy's StringMatcher evaluated on request bytes.</summary>
internal sealed class ByteStringMatcher
{
    private readonly Kind _kind;
    private readonly byte[] _pattern;
    private readonly bool _ignoreCase;
    private readonly Regex? _regex;

    private ByteStringMatcher(Kind kind, string pattern, bool ignoreCase, Regex? regex)
    {
        _kind = kind;
        _ignoreCase = ignoreCase;
        var bytes = Encoding.UTF8.GetBytes(pattern);
        _pattern = ignoreCase ? AsciiBytes.ToLowerCopy(bytes) : bytes;
        _regex = regex;
    }

    internal enum Kind
    {
        Exact,
        Prefix,
        Suffix,
        Contains,
        Regex,
    }

    public static ByteStringMatcher Create(Kind kind, string pattern, bool ignoreCase) =>
        new(kind, pattern, ignoreCase, null);

    /// <summary>Envoy ignores ignore_case for regexes; so does Herald.</summary>
    public static ByteStringMatcher Regex(Regex regex) => new(Kind.Regex, string.Empty, false, regex);

    public bool Matches(ReadOnlySpan<byte> value)
    {
        if (_ignoreCase)
        {
            return _kind switch
            {
                Kind.Exact => AsciiBytes.EqualsLower(value, _pattern),
                Kind.Prefix => AsciiBytes.StartsWithLower(value, _pattern),
                Kind.Suffix => AsciiBytes.EndsWithLower(value, _pattern),
                Kind.Contains => AsciiBytes.ContainsLower(value, _pattern),
                _ => RegexBytes.IsMatch(_regex!, value),
            };
        }

        return _kind switch
        {
            Kind.Exact => value.SequenceEqual(_pattern),
            Kind.Prefix => value.StartsWith(_pattern),
            Kind.Suffix => value.EndsWith(_pattern),
            Kind.Contains => value.IndexOf(_pattern) >= 0,
            _ => RegexBytes.IsMatch(_regex!, value),
        };
    }
}
