using System.Text.RegularExpressions;

namespace Herald.Proxy.Http.Routing;

/// <summary>A route's match: its path rule, then every header and query parameter condition.</summary>
internal sealed class RouteMatcher
{
    private readonly PathKind _kind;
    private readonly byte[] _path;
    private readonly bool _caseSensitive;
    private readonly Regex? _regex;
    private readonly HeaderCondition[] _headers;
    private readonly QueryCondition[] _queryParameters;

    public RouteMatcher(PathKind kind, byte[] path, bool caseSensitive, Regex? regex, HeaderCondition[] headers, QueryCondition[] queryParameters)
    {
        _kind = kind;
        _caseSensitive = caseSensitive;
        _path = caseSensitive ? path : AsciiBytes.ToLowerCopy(path);
        _regex = regex;
        _headers = headers;
        _queryParameters = queryParameters;
    }

    internal enum PathKind
    {
        Prefix,
        Exact,
        SeparatedPrefix,
        Regex,
    }

    public PathKind Kind => _kind;

    public bool Matches(IRequestHead request)
    {
        if (!MatchesPath(request.Path))
        {
            return false;
        }

        foreach (var header in _headers)
        {
            if (!header.Matches(request))
            {
                return false;
            }
        }

        foreach (var query in _queryParameters)
        {
            if (!query.Matches(request))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// How many leading bytes of a matching path prefix_rewrite replaces: the prefix for prefix
    /// rules, the whole path for exact rules.
    /// </summary>
    public int MatchedPrefixLength(ReadOnlySpan<byte> path) => _kind == PathKind.Exact ? path.Length : Math.Min(_path.Length, path.Length);

    private bool MatchesPath(ReadOnlySpan<byte> path)
    {
        switch (_kind)
        {
            case PathKind.Prefix:
                return _caseSensitive ? path.StartsWith(_path) : AsciiBytes.StartsWithLower(path, _path);
            case PathKind.Exact:
                return _caseSensitive ? path.SequenceEqual(_path) : AsciiBytes.EqualsLower(path, _path);
            case PathKind.SeparatedPrefix:
                if (!(_caseSensitive ? path.StartsWith(_path) : AsciiBytes.StartsWithLower(path, _path)))
                {
                    return false;
                }

                return path.Length == _path.Length || path[_path.Length] == '/';
            default:
                return RegexBytes.IsMatch(_regex!, path);
        }
    }
}
