namespace Herald.Proxy.Upstream.Http2;

/// <summary>Receives the fields of a decoded header block, in order.</summary>
internal interface IHPackHeaderSink
{
    /// <summary>One field; the spans are valid only during the call.</summary>
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}
