namespace Herald.Proxy.Http.Http1;

/// <summary>
/// Follows chunked framing (RFC 9112 section 7.1) byte by byte so a chunked body can be
/// relayed verbatim while Herald knows exactly where it ends. Strict: CRLF only, hex
/// sizes without overflow, bounded extensions and trailers.
/// </summary>
internal struct ChunkedFraming
{
    private const int MaxSizeDigits = 15;
    private const int MaxLineBytes = 4096;

    private Phase _phase;
    private long _remaining;
    private int _digits;
    private int _lineBytes;
    private int _trailerBytes;

    public ChunkedFraming(int maxTrailerBytes)
    {
        MaxTrailerBytes = maxTrailerBytes;
        _phase = Phase.Size;
    }

    private enum Phase : byte
    {
        Size,
        Extension,
        SizeLineFeed,
        Data,
        DataCarriageReturn,
        DataLineFeed,
        TrailerLineStart,
        TrailerLine,
        TrailerLineFeed,
        FinalLineFeed,
        Done,
        Failed,
    }

    public int MaxTrailerBytes { get; }

    public bool IsComplete => _phase == Phase.Done;

    public bool IsFailed => _phase == Phase.Failed;

    /// <summary>True once the terminal zero-size chunk was seen (trailers may follow).</summary>
    public bool SawLastChunk => _phase >= Phase.TrailerLineStart && _phase != Phase.Failed;

    /// <summary>True while inside chunk data; <see cref="DataRemaining"/> bytes of it are left.</summary>
    public bool InData => _phase == Phase.Data;

    public long DataRemaining => _phase == Phase.Data ? _remaining : 0;

    /// <summary>True while nothing of the body has been consumed yet.</summary>
    public bool AtStart => _phase == Phase.Size && _digits == 0;

    /// <summary>
    /// Consumes bytes of the chunked body; returns how many belong to the message. Stops at
    /// the end of the message or at the first framing error (<see cref="IsFailed"/>).
    /// </summary>
    public int Consume(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i < data.Length)
        {
            switch (_phase)
            {
                case Phase.Data:
                    {
                        var take = (int)Math.Min(_remaining, data.Length - i);
                        i += take;
                        _remaining -= take;
                        if (_remaining == 0)
                        {
                            _phase = Phase.DataCarriageReturn;
                        }

                        continue;
                    }

                case Phase.Done:
                case Phase.Failed:
                    return i;
            }

            var c = data[i++];
            switch (_phase)
            {
                case Phase.Size:
                    {
                        var hex = HexValue(c);
                        if (hex >= 0)
                        {
                            if (++_digits > MaxSizeDigits)
                            {
                                return Fail(i);
                            }

                            _remaining = (_remaining << 4) | (uint)hex;
                        }
                        else if (_digits > 0 && c == '\r')
                        {
                            _phase = Phase.SizeLineFeed;
                        }
                        else if (_digits > 0 && (c == ';' || c == ' ' || c == '\t'))
                        {
                            _phase = Phase.Extension;
                            _lineBytes = _digits + 1;
                        }
                        else
                        {
                            return Fail(i);
                        }

                        break;
                    }

                case Phase.Extension:
                    if (c == '\r')
                    {
                        _phase = Phase.SizeLineFeed;
                    }
                    else if (c == '\n' || c == 0 || ++_lineBytes > MaxLineBytes)
                    {
                        return Fail(i);
                    }

                    break;
                case Phase.SizeLineFeed:
                    if (c != '\n')
                    {
                        return Fail(i);
                    }

                    _digits = 0;
                    if (_remaining == 0)
                    {
                        _phase = Phase.TrailerLineStart;
                    }
                    else
                    {
                        _phase = Phase.Data;
                    }

                    break;
                case Phase.DataCarriageReturn:
                    if (c != '\r')
                    {
                        return Fail(i);
                    }

                    _phase = Phase.DataLineFeed;
                    break;
                case Phase.DataLineFeed:
                    if (c != '\n')
                    {
                        return Fail(i);
                    }

                    _phase = Phase.Size;
                    break;
                case Phase.TrailerLineStart:
                    if (c == '\r')
                    {
                        _phase = Phase.FinalLineFeed;
                    }
                    else if (c == '\n' || c == ' ' || c == '\t' || !HeaderNames.IsTokenChar(c))
                    {
                        return Fail(i);
                    }
                    else
                    {
                        _phase = Phase.TrailerLine;
                    }

                    if (++_trailerBytes > MaxTrailerBytes)
                    {
                        return Fail(i);
                    }

                    break;
                case Phase.TrailerLine:
                    if (c == '\r')
                    {
                        _phase = Phase.TrailerLineFeed;
                    }
                    else if (c == '\n' || c == 0)
                    {
                        return Fail(i);
                    }

                    if (++_trailerBytes > MaxTrailerBytes)
                    {
                        return Fail(i);
                    }

                    break;
                case Phase.TrailerLineFeed:
                    if (c != '\n')
                    {
                        return Fail(i);
                    }

                    _phase = Phase.TrailerLineStart;
                    break;
                case Phase.FinalLineFeed:
                    if (c != '\n')
                    {
                        return Fail(i);
                    }

                    _phase = Phase.Done;
                    return i;
            }
        }

        return i;
    }

    /// <summary>Consumes across the segments of <paramref name="data"/>; returns how many bytes belong to the message.</summary>
    public long Consume(in System.Buffers.ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            return Consume(data.FirstSpan);
        }

        long consumed = 0;
        foreach (var segment in data)
        {
            consumed += Consume(segment.Span);
            if (IsFailed || IsComplete)
            {
                break;
            }
        }

        return consumed;
    }

    private int Fail(int consumed)
    {
        _phase = Phase.Failed;
        return consumed;
    }

    private static int HexValue(byte c)
    {
        if ((uint)(c - '0') <= 9)
        {
            return c - '0';
        }

        var lower = c | 0x20;
        if ((uint)(lower - 'a') <= 5)
        {
            return lower - 'a' + 10;
        }

        return -1;
    }
}
