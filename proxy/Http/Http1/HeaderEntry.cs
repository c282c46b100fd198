namespace Herald.Proxy.Http.Http1;

/// <summary>One header line of a parsed head, as offsets into the head buffer.</summary>
internal struct HeaderEntry
{
    public int NameStart;
    public int NameLength;
    public int ValueStart;
    public int ValueLength;
    public int LineStart;

    /// <summary>Length of the whole line including CRLF.</summary>
    public int LineLength;
    public HeaderKind Kind;

    /// <summary>Set when a rewrite decided not to relay this line.</summary>
    public bool Dropped;
}
