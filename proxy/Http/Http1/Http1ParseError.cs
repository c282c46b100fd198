namespace Herald.Proxy.Http.Http1;

/// <summary>Why a head was refused; each maps to a 400 and a closed connection.</summary>
internal enum Http1ParseError : byte
{
    None,
    BadRequestLine,
    BadVersion,
    BadHeaderName,
    HeaderNameWhitespace,
    ObsoleteLineFolding,
    BareLineFeed,
    BadHeaderValue,
    HeadersTooLarge,
    TooManyHeaders,
    ContentLengthWithTransferEncoding,
    BadContentLength,
    ConflictingContentLength,
    UnsupportedTransferEncoding,
    MissingHost,
    BadStatusLine,
}
