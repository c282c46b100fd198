using Herald.Proxy.Config;
using Herald.Proxy.Http.Filters;
using Xunit;

namespace Herald.Tests.Http.Filters;

public sealed class LocalRateLimitTranslationTests
{
    private const string Typed = "hcm.http_filters[0].typed_config";

    public static TheoryData<string, string> Rejected => new()
    {
        { FilterJson.RateLimit(""" "token_bucket":{"max_tokens":1,"fill_interval":"1s"}"""), Typed + ".stat_prefix" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","token_bucket":{"max_tokens":0,"fill_interval":"1s"}"""), Typed + ".token_bucket.max_tokens" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","token_bucket":{"max_tokens":1}"""), Typed + ".token_bucket.fill_interval" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","token_bucket":{"max_tokens":1,"fill_interval":"0.010s"}"""), Typed + ".token_bucket.fill_interval" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","token_bucket":{"max_tokens":1,"tokens_per_fill":0,"fill_interval":"1s"}"""), Typed + ".token_bucket.tokens_per_fill" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","descriptors":[{"entries":[{"key":"k","value":"v"}],"token_bucket":{"max_tokens":1,"fill_interval":"1s"}}]"""), Typed + ".descriptors" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","local_rate_limit_per_downstream_connection":true"""), Typed + ".local_rate_limit_per_downstream_connection" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","enable_x_ratelimit_headers":"DRAFT_VERSION_03" """), Typed + ".enable_x_ratelimit_headers" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","request_headers_to_add_when_not_enforced":[{"header":{"key":"x","value":"y"}}]"""), Typed + ".request_headers_to_add_when_not_enforced" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl","filter_enabled":{"default_value":{"numerator":1,"denominator":"TEN_THOUSAND"},"runtime_key":"k"},"response_headers_to_add":[{"header":{"key":":status","value":"1"}}]"""), Typed + ".response_headers_to_add[0].header.key" },
        { FilterJson.RateLimit(""" "stat_prefix":"rl" """) + "," + FilterJson.RateLimit(""" "stat_prefix":"rl2" """), "hcm.http_filters[1]" },
        { """{"name":"envoy.filters.http.cors","typed_config":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}},""" + FilterJson.RateLimit(""" "stat_prefix":"rl" """), "hcm.http_filters[0]" },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Translate_UnsupportedOrInvalidField_ThrowsNamingThePath(string filters, string path)
    {
        var error = Assert.Throws<ConfigException>(() => FilterJson.Translate(FilterJson.HcmJson(filters)));

        Assert.StartsWith(path, error.FieldPath, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_RouterNotLast_Throws()
    {
        var json = FilterJson.HcmJson(string.Empty).Replace(
            "\"http_filters\":[",
            "\"http_filters\":[{\"name\":\"envoy.filters.http.router\"},",
            StringComparison.Ordinal);

        var error = Assert.Throws<ConfigException>(() => FilterJson.Translate(json));

        Assert.Equal("hcm.http_filters[0]", error.FieldPath);
    }

    [Fact]
    public void Translate_PerRouteWithoutTokenBucket_ThrowsNamingTheRouteEntry()
    {
        const string route = """{"match":{"prefix":"/"},"route":{"cluster":"c"},"typed_per_filter_config":{"rl":{"@type":"type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit","stat_prefix":"r"}}}""";

        var error = Assert.Throws<ConfigException>(() => FilterJson.Translate(FilterJson.HcmJson(string.Empty, route)));

        Assert.Equal("hcm.route_config.virtual_hosts[0].routes[0].typed_per_filter_config[rl].token_bucket", error.FieldPath);
    }

    [Fact]
    public void Translate_PerRouteUnknownFilterType_Throws()
    {
        const string route = """{"match":{"prefix":"/"},"route":{"cluster":"c"},"typed_per_filter_config":{"x":{"@type":"type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}}""";

        var error = Assert.Throws<ConfigException>(() => FilterJson.Translate(FilterJson.HcmJson(string.Empty, route)));

        Assert.Equal("hcm.route_config.virtual_hosts[0].routes[0].typed_per_filter_config[x]", error.FieldPath);
    }

    [Fact]
    public void Translate_EveryHonouredField_IsCarriedOver()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit("""
            "stat_prefix":"rl","status":{"code":"ServiceUnavailable"},
            "token_bucket":{"max_tokens":7,"tokens_per_fill":3,"fill_interval":"0.5s"},
            "filter_enabled":{"runtime_key":"ignored","default_value":{"numerator":50,"denominator":"TEN_THOUSAND"}},
            "filter_enforced":{"default_value":{"numerator":20}},
            "response_headers_to_add":[{"header":{"key":"x-limited","value":"yes"}}]
            """)));

        var settings = Assert.IsType<LocalRateLimitFilter>(Assert.Single(config.HttpFilters!.Filters)).Settings;
        Assert.Equal("rl", settings.StatPrefix);
        Assert.Equal(7u, settings.Bucket!.MaxTokens);
        Assert.Equal(3u, settings.Bucket.TokensPerFill);
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.Bucket.FillInterval);
        Assert.Equal(new FractionalPercentage(50, 10_000), settings.Enabled);
        Assert.Equal(new FractionalPercentage(20, 100), settings.Enforced);
        Assert.Equal(503, settings.Reply.Status);
        Assert.Contains(settings.Reply.Headers.Add, h => h.Name == "x-limited");
    }

    [Fact]
    public void Translate_RouterOnly_HasNoFilterChain()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(string.Empty));

        Assert.Null(config.HttpFilters);
    }

    [Fact]
    public void Translate_TokensPerFillUnset_DefaultsToOne()
    {
        var config = FilterJson.Translate(FilterJson.HcmJson(FilterJson.RateLimit(""" "stat_prefix":"rl","token_bucket":{"max_tokens":1,"fill_interval":"1s"}""")));

        var settings = ((LocalRateLimitFilter)config.HttpFilters!.Filters[0]).Settings;
        Assert.Equal(1u, settings.Bucket!.TokensPerFill);
        Assert.Equal(FractionalPercentage.Never, settings.Enabled);
    }
}
