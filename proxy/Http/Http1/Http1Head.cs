using System.Buffers;

namespace Herald.Proxy.Http.Http1;

/// <summary>
/// The head of an HTTP/1.x message (start line and header lines), copied once into a
/// buffer owned by the connection and indexed by offsets, so headers are relayed
/// verbatim without strings. Parsing is strict: CRLF only, no obs-fold, token names.
/// </summary>
internal abstract class Http1Head
{
    private const int InitialBufferSize = 1024;
    private const int InitialHeaderCount = 16;

    private byte[] _buffer;
    private HeaderEntry[] _headers;

    protected Http1Head(int maxHeadBytes, int maxHeaders)
    {
        MaxHeadBytes = maxHeadBytes;
        MaxHeaders = maxHeaders;
        // Sized for common heads and grown on demand: every keep-alive connection holds one
        // head (the upstream side another), so these bytes count per idle connection.
        _buffer = new byte[Math.Min(InitialBufferSize, maxHeadBytes + 4)];
        _headers = new HeaderEntry[Math.Min(InitialHeaderCount, maxHeaders)];
    }

    public int MaxHeadBytes { get; }

    public int MaxHeaders { get; }

    /// <summary>The whole head including the empty line.</summary>
    public ReadOnlySpan<byte> Raw => _buffer.AsSpan(0, Length);

    public int Length { get; private set; }

    /// <summary>Offset of the first header line (just past the start line).</summary>
    public int HeadersStart { get; private set; }

    public int HeaderCount { get; private set; }

    public Span<HeaderEntry> Headers => _headers.AsSpan(0, HeaderCount);

    /// <summary>1 for HTTP/1.1, 0 for HTTP/1.0.</summary>
    public int MinorVersion { get; protected set; }

    public Http1ParseError Error { get; protected set; }

    public long ContentLength { get; private set; } = -1;

    public bool IsChunked { get; private set; }

    /// <summary>Connection header carried "close".</summary>
    public bool ConnectionClose { get; private set; }

    /// <summary>Connection header carried "keep-alive" (matters for HTTP/1.0).</summary>
    public bool ConnectionKeepAlive { get; private set; }

    /// <summary>Connection header carried "upgrade" and an Upgrade header is present.</summary>
    public bool IsUpgrade { get; private set; }

    protected byte[] Buffer => _buffer;

    public ReadOnlySpan<byte> Slice(int start, int length) => _buffer.AsSpan(start, length);

    public ReadOnlySpan<byte> NameOf(in HeaderEntry entry) => _buffer.AsSpan(entry.NameStart, entry.NameLength);

    public ReadOnlySpan<byte> ValueOf(in HeaderEntry entry) => _buffer.AsSpan(entry.ValueStart, entry.ValueLength);

    public ReadOnlySpan<byte> LineOf(in HeaderEntry entry) => _buffer.AsSpan(entry.LineStart, entry.LineLength);

    /// <summary>First header of a kind, or -1.</summary>
    public int IndexOf(HeaderKind kind)
    {
        var headers = Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            if (headers[i].Kind == kind)
            {
                return i;
            }
        }

        return -1;
    }

    public bool TryGetValue(HeaderKind kind, out ReadOnlySpan<byte> value)
    {
        var index = IndexOf(kind);
        if (index < 0)
        {
            value = default;
            return false;
        }

        value = ValueOf(_headers[index]);
        return true;
    }

    /// <summary>First value of a header by lower-case name.</summary>
    public bool TryGetValue(ReadOnlySpan<byte> lowerCaseName, out ReadOnlySpan<byte> value)
    {
        var headers = Headers;
        for (var i = 0; i < headers.Length; i++)
        {
            if (headers[i].NameLength == lowerCaseName.Length && HeaderNames.Is(NameOf(headers[i]), lowerCaseName))
            {
                value = ValueOf(headers[i]);
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Looks for a complete head at the start of <paramref name="input"/>. Returns true and
    /// the number of bytes it spans when complete (check <see cref="Error"/>), false when
    /// more bytes are needed. Sets <see cref="Error"/> (and returns true) when the head can
    /// never become valid.
    /// </summary>
    public bool TryParse(in ReadOnlySequence<byte> input, out int headLength)
    {
        headLength = 0;
        Reset();
        var limit = MaxHeadBytes + 4;
        ReadOnlySpan<byte> span;
        if (input.IsSingleSegment)
        {
            span = input.FirstSpan;
        }
        else
        {
            var take = (int)Math.Min(input.Length, limit);
            EnsureBuffer(take);
            input.Slice(0, take).CopyTo(_buffer);
            span = _buffer.AsSpan(0, take);
        }

        var end = FindHeadEnd(span, limit);
        if (end == 0)
        {
            return false;
        }

        if (end < 0)
        {
            headLength = 0;
            return true;
        }

        if (!input.IsSingleSegment)
        {
            // Already copied.
        }
        else
        {
            EnsureBuffer(end);
            span[..end].CopyTo(_buffer);
        }

        Length = end;
        headLength = end;
        if (!ParseStartLine(out var startLineLength))
        {
            return true;
        }

        HeadersStart = startLineLength;
        if (ParseHeaders(startLineLength))
        {
            AnalyzeHeaders();
        }

        return true;
    }

    /// <summary>
    /// Returns the length of the head (through the empty line), 0 when incomplete, or -1
    /// with <see cref="Error"/> set when a line is malformed at the framing level.
    /// </summary>
    private int FindHeadEnd(ReadOnlySpan<byte> span, int limit)
    {
        var position = 0;
        var lines = 0;
        while (true)
        {
            var remaining = span[position..];
            var lf = remaining.IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (span.Length >= limit)
                {
                    Error = Http1ParseError.HeadersTooLarge;
                    return -1;
                }

                // A bare CR followed by something other than LF can be refused early.
                return 0;
            }

            if (lf == 0 || remaining[lf - 1] != '\r')
            {
                Error = Http1ParseError.BareLineFeed;
                return -1;
            }

            var lineEnd = position + lf + 1;
            if (lineEnd > limit)
            {
                Error = Http1ParseError.HeadersTooLarge;
                return -1;
            }

            if (lf == 1)
            {
                if (lines == 0)
                {
                    // Leading empty lines before a request line: RFC 9112 allows ignoring one;
                    // Herald refuses them to keep framing unambiguous.
                    Error = Http1ParseError.BadRequestLine;
                    return -1;
                }

                return lineEnd;
            }

            lines++;
            if (lines > MaxHeaders + 1)
            {
                Error = Http1ParseError.TooManyHeaders;
                return -1;
            }

            position = lineEnd;
        }
    }

    protected abstract bool ParseStartLine(out int length);

    private bool ParseHeaders(int start)
    {
        var position = start;
        var buffer = _buffer.AsSpan(0, Length);
        while (true)
        {
            var line = buffer[position..];
            var lf = line.IndexOf((byte)'\n');
            var lineLength = lf + 1;
            var content = line[..(lf - 1)];
            if (content.IsEmpty)
            {
                return true;
            }

            if (content[0] is (byte)' ' or (byte)'\t')
            {
                Error = Http1ParseError.ObsoleteLineFolding;
                return false;
            }

            var colon = content.IndexOf((byte)':');
            if (colon <= 0)
            {
                Error = Http1ParseError.BadHeaderName;
                return false;
            }

            var name = content[..colon];
            for (var i = 0; i < name.Length; i++)
            {
                if (!HeaderNames.IsTokenChar(name[i]))
                {
                    Error = name[i] is (byte)' ' or (byte)'\t' ? Http1ParseError.HeaderNameWhitespace : Http1ParseError.BadHeaderName;
                    return false;
                }
            }

            var valueStart = colon + 1;
            var valueEnd = content.Length;
            while (valueStart < valueEnd && content[valueStart] is (byte)' ' or (byte)'\t')
            {
                valueStart++;
            }

            while (valueEnd > valueStart && content[valueEnd - 1] is (byte)' ' or (byte)'\t')
            {
                valueEnd--;
            }

            var value = content[valueStart..valueEnd];
            for (var i = 0; i < value.Length; i++)
            {
                var c = value[i];
                if ((c < 0x20 && c != '\t') || c == 0x7F)
                {
                    Error = Http1ParseError.BadHeaderValue;
                    return false;
                }
            }

            if (HeaderCount == MaxHeaders)
            {
                Error = Http1ParseError.TooManyHeaders;
                return false;
            }

            if (HeaderCount == _headers.Length)
            {
                Array.Resize(ref _headers, Math.Min(_headers.Length * 2, MaxHeaders));
            }

            ref var entry = ref _headers[HeaderCount++];
            entry.LineStart = position;
            entry.LineLength = lineLength;
            entry.NameStart = position;
            entry.NameLength = colon;
            entry.ValueStart = position + valueStart;
            entry.ValueLength = valueEnd - valueStart;
            entry.Kind = HeaderNames.Classify(name);
            entry.Dropped = false;
            position += lineLength;
        }
    }

    private void AnalyzeHeaders()
    {
        var headers = Headers;
        var sawTransferEncoding = false;
        var sawUpgrade = false;
        var connectionUpgrade = false;
        for (var i = 0; i < headers.Length; i++)
        {
            ref var entry = ref headers[i];
            var value = ValueOf(entry);
            switch (entry.Kind)
            {
                case HeaderKind.ContentLength:
                    if (!TryParseContentLength(value, out var length))
                    {
                        Error = Http1ParseError.BadContentLength;
                        return;
                    }

                    if (ContentLength >= 0 && ContentLength != length)
                    {
                        Error = Http1ParseError.ConflictingContentLength;
                        return;
                    }

                    ContentLength = length;
                    break;
                case HeaderKind.TransferEncoding:
                    if (sawTransferEncoding || !HeaderNames.Is(value, "chunked"u8))
                    {
                        // Only a single "chunked" coding is relayed; anything else cannot be framed safely.
                        Error = Http1ParseError.UnsupportedTransferEncoding;
                        return;
                    }

                    sawTransferEncoding = true;
                    break;
                case HeaderKind.Connection:
                    if (HeaderNames.ContainsToken(value, "close"u8))
                    {
                        ConnectionClose = true;
                    }

                    if (HeaderNames.ContainsToken(value, "keep-alive"u8))
                    {
                        ConnectionKeepAlive = true;
                    }

                    if (HeaderNames.ContainsToken(value, "upgrade"u8))
                    {
                        connectionUpgrade = true;
                    }

                    break;
                case HeaderKind.Upgrade:
                    sawUpgrade = true;
                    break;
            }
        }

        if (sawTransferEncoding)
        {
            if (ContentLength >= 0)
            {
                Error = Http1ParseError.ContentLengthWithTransferEncoding;
                return;
            }

            if (MinorVersion == 0)
            {
                Error = Http1ParseError.UnsupportedTransferEncoding;
                return;
            }

            IsChunked = true;
        }

        IsUpgrade = sawUpgrade && connectionUpgrade;
        Validate();
    }

    /// <summary>Message-specific checks after the headers are known.</summary>
    protected virtual void Validate()
    {
    }

    private static bool TryParseContentLength(ReadOnlySpan<byte> value, out long length)
    {
        length = 0;
        if (value.IsEmpty || value.Length > 18)
        {
            return false;
        }

        foreach (var c in value)
        {
            if ((uint)(c - '0') > 9)
            {
                return false;
            }

            length = (length * 10) + (c - '0');
        }

        return true;
    }

    protected virtual void Reset()
    {
        Length = 0;
        HeadersStart = 0;
        HeaderCount = 0;
        MinorVersion = 1;
        Error = Http1ParseError.None;
        ContentLength = -1;
        IsChunked = false;
        ConnectionClose = false;
        ConnectionKeepAlive = false;
        IsUpgrade = false;
    }

    private void EnsureBuffer(int size)
    {
        if (_buffer.Length < size)
        {
            _buffer = new byte[Math.Max(size, Math.Min(_buffer.Length * 2, MaxHeadBytes + 4))];
        }
    }

    protected static bool TryParseVersion(ReadOnlySpan<byte> version, out int minor)
    {
        minor = 0;
        if (version.Length != 8 || !version.StartsWith("HTTP/1."u8))
        {
            return false;
        }

        var digit = version[7];
        if (digit is not ((byte)'0' or (byte)'1'))
        {
            return false;
        }

        minor = digit - '0';
        return true;
    }
}
