namespace Herald.Proxy.Http.Http1;

/// <summary>A parsed HTTP/1.x response head from an upstream.</summary>
internal sealed class Http1ResponseHead : Http1Head
{
    public Http1ResponseHead(int maxHeadBytes, int maxHeaders)
        : base(maxHeadBytes, maxHeaders)
    {
    }

    public int StatusCode { get; private set; }

    /// <summary>Status line without CRLF, relayed as received.</summary>
    public ReadOnlySpan<byte> StatusLine => Slice(0, HeadersStart - 2);

    public bool IsInformational => StatusCode is >= 100 and < 200;

    /// <summary>Whether the upstream allows reuse of its connection.</summary>
    public bool KeepAlive => MinorVersion == 1 ? !ConnectionClose : ConnectionKeepAlive && !ConnectionClose;

    protected override void Reset()
    {
        base.Reset();
        StatusCode = 0;
    }

    protected override bool ParseStartLine(out int length)
    {
        var raw = Raw;
        var lf = raw.IndexOf((byte)'\n');
        length = lf + 1;
        var line = raw[..(lf - 1)];
        if (line.Length < 12 || !TryParseVersion(line[..8], out var minor) || line[8] != ' ')
        {
            Error = Http1ParseError.BadStatusLine;
            return false;
        }

        var code = line.Slice(9, 3);
        var status = 0;
        foreach (var c in code)
        {
            if ((uint)(c - '0') > 9)
            {
                Error = Http1ParseError.BadStatusLine;
                return false;
            }

            status = (status * 10) + (c - '0');
        }

        if (status < 100 || (line.Length > 12 && line[12] != ' '))
        {
            Error = Http1ParseError.BadStatusLine;
            return false;
        }

        MinorVersion = minor;
        StatusCode = status;
        return true;
    }
}
