using Google.Protobuf;
using Herald.Proxy.Config;
using Herald.Proxy.Http.Retry;
using Xunit;

namespace Herald.Tests.Http.Retry;

public sealed class RetryPolicyTranslatorTests
{
    private const string P = "rc.virtual_hosts[0].routes[0].route.retry_policy";

    [Fact]
    public void Translate_RetryOnOnly_HasEnvoyDefaults()
    {
        var policy = Translate("""{"retry_on":"5xx"}""");

        Assert.Equal(RetryOn.FiveXx, policy.RetryOn);
        Assert.Equal(1, policy.NumRetries);
        Assert.Equal(TimeSpan.Zero, policy.PerTryTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(25), policy.BaseInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(250), policy.MaxInterval);
        Assert.Empty(policy.RetriableStatusCodes);
    }

    [Fact]
    public void Translate_EveryField_Honoured()
    {
        var policy = Translate("""
            {"retry_on":"gateway-error, connect-failure,retriable-status-codes,unavailable","num_retries":4,"per_try_timeout":"0.5s",
             "retriable_status_codes":[418,429],"retry_back_off":{"base_interval":"0.1s","max_interval":"2s"},
             "retry_host_predicate":[{"name":"envoy.retry_host_predicates.previous_hosts"}],"host_selection_retry_max_attempts":3}
            """);

        Assert.Equal(RetryOn.GatewayError | RetryOn.ConnectFailure | RetryOn.RetriableStatusCodes | RetryOn.GrpcUnavailable, policy.RetryOn);
        Assert.Equal(4, policy.NumRetries);
        Assert.Equal(TimeSpan.FromMilliseconds(500), policy.PerTryTimeout);
        Assert.Equal([418, 429], policy.RetriableStatusCodes.ToArray());
        Assert.Equal(TimeSpan.FromMilliseconds(100), policy.BaseInterval);
        Assert.Equal(TimeSpan.FromSeconds(2), policy.MaxInterval);
    }

    [Fact]
    public void Translate_BaseIntervalOnly_MaxIsTenTimesBase()
    {
        var policy = Translate("""{"retry_on":"5xx","retry_back_off":{"base_interval":"0.04s"}}""");

        Assert.Equal(TimeSpan.FromMilliseconds(400), policy.MaxInterval);
    }

    [Fact]
    public void Translate_NumRetriesZero_NeverRetries()
    {
        Assert.Equal(0, Translate("""{"retry_on":"5xx","num_retries":0}""").NumRetries);
    }

    [Theory]
    [InlineData("5xx", ((int)RetryOn.FiveXx))]
    [InlineData("gateway-error", ((int)RetryOn.GatewayError))]
    [InlineData("reset", ((int)RetryOn.Reset))]
    [InlineData("connect-failure", ((int)RetryOn.ConnectFailure))]
    [InlineData("retriable-4xx", ((int)RetryOn.Retriable4xx))]
    [InlineData("refused-stream", ((int)RetryOn.RefusedStream))]
    [InlineData("retriable-status-codes", ((int)RetryOn.RetriableStatusCodes))]
    [InlineData("cancelled", ((int)RetryOn.GrpcCancelled))]
    [InlineData("deadline-exceeded", ((int)RetryOn.GrpcDeadlineExceeded))]
    [InlineData("internal", ((int)RetryOn.GrpcInternal))]
    [InlineData("resource-exhausted", ((int)RetryOn.GrpcResourceExhausted))]
    [InlineData("unavailable", ((int)RetryOn.GrpcUnavailable))]
    [InlineData("", ((int)RetryOn.None))]
    public void ParseRetryOn_EachCondition_Maps(string value, int expected)
    {
        Assert.Equal((RetryOn)expected, RetryPolicyTranslator.ParseRetryOn(value, P + ".retry_on"));
    }

    [Theory]
    [InlineData("""{"retry_on":"5xx,envoy-ratelimited"}""", P + ".retry_on")]
    [InlineData("""{"retry_on":"envoy-ratelimited"}""", P + ".retry_on")]
    [InlineData("""{"retry_on":"5xx","num_retries":1000}""", P + ".num_retries")]
    [InlineData("""{"retry_on":"5xx","per_try_timeout":"-1s"}""", P + ".per_try_timeout")]
    [InlineData("""{"retry_on":"5xx","retriable_status_codes":[99]}""", P + ".retriable_status_codes[0]")]
    [InlineData("""{"retry_on":"5xx","retriable_status_codes":[503,600]}""", P + ".retriable_status_codes[1]")]
    [InlineData("""{"retry_on":"5xx","retry_back_off":{"max_interval":"1s"}}""", P + ".retry_back_off.base_interval")]
    [InlineData("""{"retry_on":"5xx","retry_back_off":{"base_interval":"0s"}}""", P + ".retry_back_off.base_interval")]
    [InlineData("""{"retry_on":"5xx","retry_back_off":{"base_interval":"1s","max_interval":"0.5s"}}""", P + ".retry_back_off.max_interval")]
    [InlineData("""{"retry_on":"5xx","retry_host_predicate":[{"name":"envoy.retry_host_predicates.omit_canary_hosts"}]}""", P + ".retry_host_predicate[0].name")]
    [InlineData("""{"retry_on":"5xx","retry_priority":{"name":"envoy.retry_priorities.previous_priorities"}}""", P + ".retry_priority")]
    [InlineData("""{"retry_on":"retriable-headers"}""", P + ".retriable_headers")]
    [InlineData("""{"retry_on":"retriable-headers","retriable_headers":[{"name":":status"}]}""", P + ".retriable_headers[0].name")]
    [InlineData("""{"retry_on":"5xx","per_try_idle_timeout":"1s"}""", P + ".per_try_idle_timeout")]
    [InlineData("""{"retry_on":"5xx","host_selection_retry_max_attempts":-1}""", P + ".host_selection_retry_max_attempts")]
    public void Translate_BadValue_ThrowsNamingThePath(string json, string path)
    {
        var e = Assert.Throws<ConfigException>(() => Translate(json));

        Assert.Equal(path, e.FieldPath);
        Assert.False(string.IsNullOrEmpty(e.Fix));
    }

    [Fact]
    public void Translate_RetriableHeaders_ResponseMatchingAnyIsRetried()
    {
        var policy = Translate("""
            {"retry_on":"retriable-headers","retriable_headers":[
              {"name":"x-upstream-retry","string_match":{"exact":"yes"}},
              {"name":"x-overloaded","present_match":true}]}
            """);
        var retryHeader = new Dictionary<string, string> { ["x-upstream-retry"] = "yes" };
        var otherValue = new Dictionary<string, string> { ["x-upstream-retry"] = "no" };
        var overloaded = new Dictionary<string, string> { ["x-overloaded"] = "" };

        Assert.True(policy.ChecksHeaders);
        Assert.True(policy.MatchesRetriableHeaders(retryHeader, Lookup));
        Assert.False(policy.MatchesRetriableHeaders(otherValue, Lookup));
        Assert.True(policy.MatchesRetriableHeaders(overloaded, Lookup));
        Assert.True(policy.RetriesResponse(200, -1, headersMatched: true));
        Assert.False(policy.RetriesResponse(200, -1, headersMatched: false));
        Assert.False(policy.RetriesResponse(503, -1, headersMatched: false));
    }

    [Fact]
    public void Translate_RetriableHeadersListedWithoutTheCondition_NotChecked()
    {
        var policy = Translate("""{"retry_on":"5xx","retriable_headers":[{"name":"x-retry"}]}""");

        Assert.False(policy.ChecksHeaders);
        Assert.False(policy.RetriesResponse(200, -1, headersMatched: true));
    }

    private static bool Lookup(Dictionary<string, string> headers, Herald.Proxy.Http.Routing.HeaderCondition condition, out ReadOnlySpan<byte> value)
    {
        if (headers.TryGetValue(condition.Name, out var text))
        {
            value = System.Text.Encoding.ASCII.GetBytes(text);
            return true;
        }

        value = default;
        return false;
    }

    private static RetryPolicy Translate(string json) =>
        RetryPolicyTranslator.Translate(JsonParser.Default.Parse<Envoy.Config.Route.V3.RetryPolicy>(json), P);
}
