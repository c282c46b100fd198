using System.Text;
using System.Text.RegularExpressions;

namespace Herald.Proxy.Http.Routing;

/// <summary>prefix_rewrite or regex_rewrite of a route or redirect, applied to the path without its query.</summary>
internal sealed class PathRewriter
{
    private readonly RouteMatcher _matcher;
    private readonly byte[]? _prefix;
    private readonly Regex? _regex;
    private readonly string _substitution;

    private PathRewriter(RouteMatcher matcher, byte[]? prefix, Regex? regex, string substitution)
    {
        _matcher = matcher;
        _prefix = prefix;
        _regex = regex;
        _substitution = substitution;
    }

    public static PathRewriter Prefix(RouteMatcher matcher, string prefix) =>
        new(matcher, Encoding.UTF8.GetBytes(prefix), null, string.Empty);

    /// <param name="dotNetSubstitution">Already in .NET replacement syntax.</param>
    public static PathRewriter Regex(RouteMatcher matcher, Regex regex, string dotNetSubstitution) =>
        new(matcher, null, regex, dotNetSubstitution);

    /// <summary>The rewritten path followed by <paramref name="suffix"/> (for example <c>?query</c>).</summary>
    public byte[] Rewrite(ReadOnlySpan<byte> path, ReadOnlySpan<byte> suffixSeparator, ReadOnlySpan<byte> suffix)
    {
        var tail = suffix.IsEmpty ? 0 : suffixSeparator.Length + suffix.Length;
        if (_prefix is not null)
        {
            var keep = path[_matcher.MatchedPrefixLength(path)..];
            var result = new byte[_prefix.Length + keep.Length + tail];
            _prefix.CopyTo(result, 0);
            keep.CopyTo(result.AsSpan(_prefix.Length));
            AppendSuffix(result, _prefix.Length + keep.Length, suffixSeparator, suffix);
            return result;
        }

        var rewritten = Encoding.UTF8.GetBytes(_regex!.Replace(Encoding.UTF8.GetString(path), _substitution));
        if (tail == 0)
        {
            return rewritten;
        }

        var joined = new byte[rewritten.Length + tail];
        rewritten.CopyTo(joined, 0);
        AppendSuffix(joined, rewritten.Length, suffixSeparator, suffix);
        return joined;
    }

    private static void AppendSuffix(byte[] target, int offset, ReadOnlySpan<byte> separator, ReadOnlySpan<byte> suffix)
    {
        if (suffix.IsEmpty)
        {
            return;
        }

        separator.CopyTo(target.AsSpan(offset));
        suffix.CopyTo(target.AsSpan(offset + separator.Length));
    }
}
