using Herald.Proxy.Http.Retry;
using Herald.Proxy.Upstream;
using Xunit;

namespace Herald.Tests.Http.Retry;

public sealed class RetryPolicyTests
{
    [Theory]
    [InlineData((int)RetryOn.FiveXx, 500, true)]
    [InlineData((int)RetryOn.FiveXx, 503, true)]
    [InlineData((int)RetryOn.FiveXx, 599, true)]
    [InlineData((int)RetryOn.FiveXx, 404, false)]
    [InlineData((int)RetryOn.GatewayError, 502, true)]
    [InlineData((int)RetryOn.GatewayError, 503, true)]
    [InlineData((int)RetryOn.GatewayError, 504, true)]
    [InlineData((int)RetryOn.GatewayError, 500, false)]
    [InlineData((int)RetryOn.Retriable4xx, 409, true)]
    [InlineData((int)RetryOn.Retriable4xx, 429, false)]
    [InlineData((int)RetryOn.Reset, 503, false)]
    [InlineData((int)RetryOn.ConnectFailure, 503, false)]
    public void RetriesResponse_ByStatus_FollowsEnvoy(int on, int status, bool expected)
    {
        Assert.Equal(expected, new RetryPolicy { RetryOn = (RetryOn)on }.RetriesResponse(status, -1));
    }

    [Fact]
    public void RetriesResponse_RetriableStatusCodes_OnlyWhenConditionSet()
    {
        var withCondition = new RetryPolicy { RetryOn = RetryOn.RetriableStatusCodes, RetriableStatusCodes = [418] };
        var withoutCondition = new RetryPolicy { RetryOn = RetryOn.FiveXx, RetriableStatusCodes = [418] };

        Assert.True(withCondition.RetriesResponse(418, -1));
        Assert.False(withCondition.RetriesResponse(419, -1));
        Assert.False(withoutCondition.RetriesResponse(418, -1));
    }

    [Theory]
    [InlineData((int)RetryOn.GrpcCancelled, 1)]
    [InlineData((int)RetryOn.GrpcDeadlineExceeded, 4)]
    [InlineData((int)RetryOn.GrpcResourceExhausted, 8)]
    [InlineData((int)RetryOn.GrpcInternal, 13)]
    [InlineData((int)RetryOn.GrpcUnavailable, 14)]
    public void RetriesResponse_GrpcStatus_MatchesItsConditionOnly(int condition, int grpcStatus)
    {
        var on = (RetryOn)condition;
        var policy = new RetryPolicy { RetryOn = on };

        Assert.True(policy.RetriesResponse(200, grpcStatus));
        Assert.False(policy.RetriesResponse(200, 0));
        Assert.False(policy.RetriesResponse(200, -1));
        Assert.False(new RetryPolicy { RetryOn = RetryOn.AnyGrpc & ~on }.RetriesResponse(200, grpcStatus));
    }

    [Theory]
    [InlineData((int)RetryOn.ConnectFailure, (int)UpstreamFailureKind.ConnectFailure, true)]
    [InlineData((int)RetryOn.ConnectFailure, (int)UpstreamFailureKind.Reset, false)]
    [InlineData((int)RetryOn.Reset, (int)UpstreamFailureKind.ConnectFailure, true)]
    [InlineData((int)RetryOn.Reset, (int)UpstreamFailureKind.Reset, true)]
    [InlineData((int)RetryOn.Reset, (int)UpstreamFailureKind.PerTryTimeout, true)]
    [InlineData((int)RetryOn.FiveXx, (int)UpstreamFailureKind.Reset, true)]
    [InlineData((int)RetryOn.FiveXx, (int)UpstreamFailureKind.PerTryTimeout, true)]
    [InlineData((int)RetryOn.GatewayError, (int)UpstreamFailureKind.ConnectFailure, true)]
    [InlineData((int)RetryOn.RefusedStream, (int)UpstreamFailureKind.RefusedStream, true)]
    [InlineData((int)RetryOn.RefusedStream, (int)UpstreamFailureKind.Reset, false)]
    [InlineData((int)RetryOn.Retriable4xx, (int)UpstreamFailureKind.Reset, false)]
    [InlineData((int)RetryOn.GrpcUnavailable, (int)UpstreamFailureKind.ConnectFailure, false)]
    [InlineData((int)RetryOn.FiveXx | ((int)RetryOn.Reset), (int)UpstreamFailureKind.Timeout, false)]
    [InlineData((int)RetryOn.FiveXx | ((int)RetryOn.Reset), (int)UpstreamFailureKind.ProtocolError, false)]
    [InlineData((int)RetryOn.FiveXx | ((int)RetryOn.Reset), (int)UpstreamFailureKind.Overflow, false)]
    public void RetriesFailure_ByKind_FollowsEnvoy(int on, int failure, bool expected)
    {
        Assert.Equal(expected, new RetryPolicy { RetryOn = (RetryOn)on }.RetriesFailure((UpstreamFailureKind)failure));
    }

    [Fact]
    public void Backoff_FullJitter_StaysUnderAnExponentialWindowCappedAtMax()
    {
        var policy = new RetryPolicy { BaseInterval = TimeSpan.FromMilliseconds(25), MaxInterval = TimeSpan.FromMilliseconds(250) };

        // Windows: retry 1 -> 25 ms, 2 -> 75 ms, 3 -> 175 ms, 4 and later -> 250 ms (capped).
        Assert.Equal(TimeSpan.FromTicks(249_999), policy.Backoff(1, 249_999));
        Assert.Equal(TimeSpan.Zero, policy.Backoff(1, 0));
        Assert.Equal(TimeSpan.FromMilliseconds(74), policy.Backoff(2, 740_000));
        Assert.Equal(TimeSpan.FromMilliseconds(5), policy.Backoff(2, 750_000 + 50_000));
        Assert.Equal(TimeSpan.FromMilliseconds(174), policy.Backoff(3, 1_740_000));
        Assert.Equal(TimeSpan.FromMilliseconds(249), policy.Backoff(4, 2_490_000));
        Assert.Equal(TimeSpan.FromMilliseconds(10), policy.Backoff(30, 2_500_000 + 100_000));
    }

    [Fact]
    public void Backoff_ManyRandoms_NeverReachesTheWindow()
    {
        var policy = new RetryPolicy { BaseInterval = TimeSpan.FromMilliseconds(10), MaxInterval = TimeSpan.FromMilliseconds(1000) };
        var random = new Random(7);
        for (var i = 0; i < 10_000; i++)
        {
            var retry = 1 + (i % 12);
            var window = TimeSpan.FromMilliseconds(Math.Min(((1L << retry) - 1) * 10, 1000));
            var backoff = policy.Backoff(retry, (uint)random.NextInt64(0, uint.MaxValue));
            Assert.InRange(backoff, TimeSpan.Zero, window - TimeSpan.FromTicks(1));
        }
    }
}
