namespace Herald.Proxy.Http.Routing;

/// <summary>One HeaderMatcher of a route, with Envoy's rules for missing headers and inversion.</summary>
internal sealed class HeaderCondition
{
    private readonly HeaderSelector _selector;
    private readonly ByteStringMatcher? _matcher;
    private readonly bool _present;
    private readonly bool _invert;
    private readonly bool _treatMissingAsEmpty;

    /// <param name="matcher">Null for a presence match.</param>
    /// <param name="present">For a presence match: true requires the header, false requires its absence.</param>
    public HeaderCondition(HeaderSelector selector, ByteStringMatcher? matcher, bool present, bool invert, bool treatMissingAsEmpty)
    {
        _selector = selector;
        _matcher = matcher;
        _present = present;
        _invert = invert;
        _treatMissingAsEmpty = treatMissingAsEmpty;
    }

    /// <summary>The header's lower-case name (for response headers, looked up by the caller).</summary>
    public string Name => _selector.Name;

    /// <summary><see cref="Name"/> as ASCII bytes.</summary>
    public ReadOnlySpan<byte> NameBytes => _selector.NameBytes;

    /// <summary>Applies the condition to a header looked up elsewhere (response headers for retries).</summary>
    public bool MatchesValue(bool found, ReadOnlySpan<byte> value)
    {
        if (!found)
        {
            if (!_treatMissingAsEmpty)
            {
                return _matcher is null && _present == _invert;
            }

            value = default;
        }

        var match = _matcher is null ? _present : _matcher.Matches(value);
        return match != _invert;
    }

    public bool Matches(IRequestHead request)
    {
        var scratch = default(ScratchBuffer);
        try
        {
            if (!_selector.TryGet(request, ref scratch, out var value))
            {
                if (!_treatMissingAsEmpty)
                {
                    // Envoy: a missing header fails every value match, inverted or not; only a
                    // presence match can hold ("present: false", or "present: true" inverted).
                    return _matcher is null && _present == _invert;
                }

                value = default;
            }

            var match = _matcher is null ? _present : _matcher.Matches(value);
            return match != _invert;
        }
        finally
        {
            scratch.Dispose();
        }
    }
}
