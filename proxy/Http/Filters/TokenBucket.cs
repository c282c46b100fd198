namespace Herald.Proxy.Http.Filters;

/// <summary>
/// Envoy's token bucket: starts full, adds <c>tokens_per_fill</c> every <c>fill_interval</c>
/// up to <c>max_tokens</c>, one token per request. Refilled lazily from the clock when
/// a token is asked for (no timer); a tiny lock keeps the arithmetic exact.
/// </summary>
internal sealed class TokenBucket
{
    private readonly Lock _lock = new();
    private readonly long _fillTicks;
    private long _tokens;
    private long _lastFill = long.MinValue;

    public TokenBucket(uint maxTokens, uint tokensPerFill, TimeSpan fillInterval)
    {
        ArgumentOutOfRangeException.ThrowIfZero(maxTokens);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(fillInterval, TimeSpan.Zero);
        MaxTokens = maxTokens;
        TokensPerFill = tokensPerFill;
        FillInterval = fillInterval;
        _fillTicks = fillInterval.Ticks;
        _tokens = maxTokens;
    }

    public uint MaxTokens { get; }

    public uint TokensPerFill { get; }

    public TimeSpan FillInterval { get; }

    /// <summary>Takes one token if there is one.</summary>
    public bool TryConsume(TimeProvider time)
    {
        var now = ElapsedTicks(time);
        lock (_lock)
        {
            Refill(now);
            if (_tokens <= 0)
            {
                return false;
            }

            _tokens--;
            return true;
        }
    }

    /// <summary>Tokens left now (for stats and tests).</summary>
    public long Remaining(TimeProvider time)
    {
        var now = ElapsedTicks(time);
        lock (_lock)
        {
            Refill(now);
            return _tokens;
        }
    }

    private void Refill(long now)
    {
        if (_lastFill == long.MinValue)
        {
            _lastFill = now;
            return;
        }

        var fills = (now - _lastFill) / _fillTicks;
        if (fills <= 0)
        {
            return;
        }

        _lastFill += fills * _fillTicks;
        _tokens = (long)Math.Min(MaxTokens, _tokens + ((double)fills * TokensPerFill));
    }

    // TimeSpan ticks on the provider's monotonic clock.
    private static long ElapsedTicks(TimeProvider time)
    {
        var timestamp = time.GetTimestamp();
        var frequency = time.TimestampFrequency;
        return frequency == TimeSpan.TicksPerSecond
            ? timestamp
            : (long)(timestamp * ((double)TimeSpan.TicksPerSecond / frequency));
    }
}
