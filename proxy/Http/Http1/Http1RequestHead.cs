using System.Net;

namespace Herald.Proxy.Http.Http1;

/// <summary>A parsed HTTP/1.x request head; routing reads it through <see cref="IRequestHead"/>.</summary>
internal sealed class Http1RequestHead : Http1Head, IRequestHead
{
    private int _methodLength;
    private int _targetStart;
    private int _targetLength;
    private int _pathStart;
    private int _pathLength;
    private int _queryStart;
    private int _queryLength;
    private int _authorityStart;
    private int _authorityLength;
    private bool _absoluteForm;

    public Http1RequestHead(int maxHeadBytes, int maxHeaders)
        : base(maxHeadBytes, maxHeaders)
    {
    }

    public ReadOnlySpan<byte> Method => Slice(0, _methodLength);

    /// <summary>The request target as sent (origin-form path and query, or absolute-form).</summary>
    public ReadOnlySpan<byte> Target => Slice(_targetStart, _targetLength);

    /// <summary>Path and query in origin-form (what is sent upstream).</summary>
    public ReadOnlySpan<byte> PathAndQuery => Slice(_pathStart, _pathLength + (_queryLength > 0 || HasQueryMark ? _queryLength + 1 : 0));

    public ReadOnlySpan<byte> Path => Slice(_pathStart, _pathLength);

    public ReadOnlySpan<byte> Query => Slice(_queryStart, _queryLength);

    public ReadOnlySpan<byte> Authority => Slice(_authorityStart, _authorityLength);

    public ReadOnlySpan<byte> Scheme => IsTls ? "https"u8 : "http"u8;

    public IPAddress? RemoteAddress { get; set; }

    /// <summary>Set by the connection when the downstream is TLS.</summary>
    public bool IsTls { get; set; }

    public bool IsHead { get; private set; }

    public bool ExpectContinue { get; private set; }

    public bool IsAbsoluteForm => _absoluteForm;

    private bool HasQueryMark { get; set; }

    /// <summary>True when the request carries a body (Content-Length &gt; 0 or chunked).</summary>
    public bool HasBody => IsChunked || ContentLength > 0;

    /// <summary>Whether the client wants the connection kept open after this exchange.</summary>
    public bool KeepAlive => MinorVersion == 1 ? !ConnectionClose : ConnectionKeepAlive && !ConnectionClose;

    public bool TryGetHeader(ReadOnlySpan<byte> lowerCaseName, out ReadOnlySpan<byte> value)
    {
        if (lowerCaseName.Length == 4 && lowerCaseName.SequenceEqual("host"u8))
        {
            value = Authority;
            return _authorityLength > 0;
        }

        return TryGetValue(lowerCaseName, out value);
    }

    protected override void Reset()
    {
        base.Reset();
        _methodLength = 0;
        _targetStart = 0;
        _targetLength = 0;
        _pathStart = 0;
        _pathLength = 0;
        _queryStart = 0;
        _queryLength = 0;
        _authorityStart = 0;
        _authorityLength = 0;
        _absoluteForm = false;
        HasQueryMark = false;
        IsHead = false;
        ExpectContinue = false;
    }

    protected override bool ParseStartLine(out int length)
    {
        var raw = Raw;
        var lf = raw.IndexOf((byte)'\n');
        length = lf + 1;
        var line = raw[..(lf - 1)];

        var firstSpace = line.IndexOf((byte)' ');
        if (firstSpace <= 0)
        {
            Error = Http1ParseError.BadRequestLine;
            return false;
        }

        for (var i = 0; i < firstSpace; i++)
        {
            if (!HeaderNames.IsTokenChar(line[i]))
            {
                Error = Http1ParseError.BadRequestLine;
                return false;
            }
        }

        var rest = line[(firstSpace + 1)..];
        var secondSpace = rest.IndexOf((byte)' ');
        if (secondSpace <= 0)
        {
            Error = Http1ParseError.BadRequestLine;
            return false;
        }

        var target = rest[..secondSpace];
        var version = rest[(secondSpace + 1)..];
        if (!TryParseVersion(version, out var minor))
        {
            Error = Http1ParseError.BadVersion;
            return false;
        }

        for (var i = 0; i < target.Length; i++)
        {
            var c = target[i];
            if (c <= 0x20 || c >= 0x7F)
            {
                Error = Http1ParseError.BadRequestLine;
                return false;
            }
        }

        MinorVersion = minor;
        _methodLength = firstSpace;
        IsHead = Method.SequenceEqual("HEAD"u8);
        if (Method.SequenceEqual("CONNECT"u8))
        {
            // Tunnelling through CONNECT is not a capability of Herald's HTTP path.
            Error = Http1ParseError.BadRequestLine;
            return false;
        }

        _targetStart = firstSpace + 1;
        _targetLength = target.Length;
        var pathStart = _targetStart;
        var pathEnd = _targetStart + target.Length;
        if (target[0] == '/')
        {
            // origin-form
        }
        else if (target.Length == 1 && target[0] == '*')
        {
            // asterisk-form (OPTIONS *)
        }
        else if (StartsWithScheme(target, out var schemeLength))
        {
            _absoluteForm = true;
            var afterScheme = target[schemeLength..];
            var slash = afterScheme.IndexOfAny((byte)'/', (byte)'?');
            var authorityLength = slash < 0 ? afterScheme.Length : slash;
            if (authorityLength == 0)
            {
                Error = Http1ParseError.BadRequestLine;
                return false;
            }

            _authorityStart = _targetStart + schemeLength;
            _authorityLength = authorityLength;
            pathStart = _authorityStart + authorityLength;
            if (slash < 0 || afterScheme[slash] == '?')
            {
                // "http://host" or "http://host?q": path "/" is implied; keep "/" by pointing at no bytes.
            }
        }
        else
        {
            Error = Http1ParseError.BadRequestLine;
            return false;
        }

        var pathAndQuery = Buffer.AsSpan(pathStart, pathEnd - pathStart);
        var question = pathAndQuery.IndexOf((byte)'?');
        _pathStart = pathStart;
        if (question >= 0)
        {
            HasQueryMark = true;
            _pathLength = question;
            _queryStart = pathStart + question + 1;
            _queryLength = pathAndQuery.Length - question - 1;
        }
        else
        {
            _pathLength = pathAndQuery.Length;
            _queryStart = pathEnd;
            _queryLength = 0;
        }

        return true;
    }

    protected override void Validate()
    {
        var hostIndex = -1;
        var headers = Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            if (headers[i].Kind == HeaderKind.Host)
            {
                if (hostIndex >= 0)
                {
                    Error = Http1ParseError.MissingHost;
                    return;
                }

                hostIndex = i;
            }
            else if (headers[i].Kind == HeaderKind.Expect)
            {
                ExpectContinue = HeaderNames.Is(ValueOf(headers[i]), "100-continue"u8);
            }
        }

        if (!_absoluteForm)
        {
            if (hostIndex >= 0)
            {
                _authorityStart = headers[hostIndex].ValueStart;
                _authorityLength = headers[hostIndex].ValueLength;
            }
            else if (MinorVersion == 1)
            {
                Error = Http1ParseError.MissingHost;
            }
        }
    }

    private static bool StartsWithScheme(ReadOnlySpan<byte> target, out int length)
    {
        if (target.Length > 7 && HeaderNames.Is(target[..7], "http://"u8))
        {
            length = 7;
            return true;
        }

        if (target.Length > 8 && HeaderNames.Is(target[..8], "https://"u8))
        {
            length = 8;
            return true;
        }

        length = 0;
        return false;
    }
}
