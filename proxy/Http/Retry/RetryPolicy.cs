using System.Collections.Immutable;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Retry;

/// <summary>Looks up the response header a condition names (by its string or byte name, as the head keeps it).</summary>
internal delegate bool HeaderLookup<in TState>(TState state, Routing.HeaderCondition condition, out ReadOnlySpan<byte> value);

/// <summary>A route's validated <c>retry_policy</c>: when to try again, how often and how long to wait.</summary>
internal sealed class RetryPolicy
{
    public const int DefaultNumRetries = 1;

    /// <summary>
    /// A request body is replayed only when all of it fits here (Envoy buffers up to
    /// per_request_buffer_limit_bytes); a larger or still-streaming body is never retried.
    /// </summary>
    public const int MaxReplayBodyBytes = 64 * 1024;

    public static readonly TimeSpan DefaultBaseInterval = TimeSpan.FromMilliseconds(25);

    public RetryOn RetryOn { get; init; }

    public int NumRetries { get; init; } = DefaultNumRetries;

    /// <summary><see cref="TimeSpan.Zero"/>: no per-try timeout (the route timeout still applies).</summary>
    public TimeSpan PerTryTimeout { get; init; }

    public TimeSpan BaseInterval { get; init; } = DefaultBaseInterval;

    /// <summary>Envoy's default: ten times the base interval.</summary>
    public TimeSpan MaxInterval { get; init; } = DefaultBaseInterval * 10;

    public ImmutableArray<int> RetriableStatusCodes { get; init; } = [];

    /// <summary><c>retriable_headers</c>: with <c>retriable-headers</c>, a response matching any of them is retried.</summary>
    public ImmutableArray<Routing.HeaderCondition> RetriableHeaders { get; init; } = [];

    /// <summary>True when response headers must be looked at for <c>retriable-headers</c>.</summary>
    public bool ChecksHeaders => (RetryOn & RetryOn.RetriableHeaders) != 0 && !RetriableHeaders.IsEmpty;

    /// <summary>Whether any of <see cref="RetriableHeaders"/> matches, headers read through <paramref name="lookup"/>.</summary>
    public bool MatchesRetriableHeaders<TState>(TState state, HeaderLookup<TState> lookup)
    {
        foreach (var condition in RetriableHeaders)
        {
            var found = lookup(state, condition, out var value);
            if (condition.MatchesValue(found, value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when a gRPC condition is set, so grpc-status must be looked at.</summary>
    public bool ChecksGrpcStatus => (RetryOn & RetryOn.AnyGrpc) != 0;

    /// <summary>
    /// Whether a response head with this status (and grpc-status, or -1) is retried;
    /// <paramref name="headersMatched"/>: a retriable header matched.
    /// </summary>
    public bool RetriesResponse(int statusCode, int grpcStatus, bool headersMatched = false)
    {
        var on = RetryOn;
        if (headersMatched && (on & RetryOn.RetriableHeaders) != 0)
        {
            return true;
        }

        if ((on & RetryOn.FiveXx) != 0 && statusCode >= 500)
        {
            return true;
        }

        if ((on & RetryOn.GatewayError) != 0 && statusCode is 502 or 503 or 504)
        {
            return true;
        }

        if ((on & RetryOn.Retriable4xx) != 0 && statusCode == 409)
        {
            return true;
        }

        if ((on & RetryOn.RetriableStatusCodes) != 0 && RetriableStatusCodes.Contains(statusCode))
        {
            return true;
        }

        return grpcStatus switch
        {
            1 => (on & RetryOn.GrpcCancelled) != 0,
            4 => (on & RetryOn.GrpcDeadlineExceeded) != 0,
            8 => (on & RetryOn.GrpcResourceExhausted) != 0,
            13 => (on & RetryOn.GrpcInternal) != 0,
            14 => (on & RetryOn.GrpcUnavailable) != 0,
            _ => false,
        };
    }

    /// <summary>Whether an attempt that ended without a response head is retried.</summary>
    public bool RetriesFailure(UpstreamFailureKind failure)
    {
        // As in Envoy, 5xx and gateway-error cover "no response at all" too.
        const RetryOn anyReset = RetryOn.FiveXx | RetryOn.GatewayError | RetryOn.Reset;
        var on = RetryOn;
        return failure switch
        {
            UpstreamFailureKind.ConnectFailure => (on & (anyReset | RetryOn.ConnectFailure)) != 0,
            UpstreamFailureKind.Reset => (on & anyReset) != 0,
            UpstreamFailureKind.RefusedStream => (on & (anyReset | RetryOn.RefusedStream)) != 0,
            UpstreamFailureKind.PerTryTimeout => (on & anyReset) != 0,
            _ => false,
        };
    }

    /// <summary>
    /// The wait before retry number <paramref name="retry"/> (1 for the first): full jitter
    /// over an exponentially growing window, (2^retry - 1) × base, capped at the max interval.
    /// </summary>
    public TimeSpan Backoff(int retry, uint random)
    {
        var baseTicks = BaseInterval.Ticks;
        var maxTicks = MaxInterval.Ticks;
        if (baseTicks <= 0)
        {
            return TimeSpan.Zero;
        }

        var shift = Math.Clamp(retry, 1, 30);
        var multiplier = (1L << shift) - 1;
        var window = multiplier > maxTicks / baseTicks ? maxTicks : Math.Min(multiplier * baseTicks, maxTicks);
        if (window <= 0)
        {
            return TimeSpan.Zero;
        }

        return TimeSpan.FromTicks((long)(random % (ulong)window));
    }
}
