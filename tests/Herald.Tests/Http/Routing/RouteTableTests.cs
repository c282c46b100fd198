using Herald.Proxy.Http.Routing;
using Xunit;

namespace Herald.Tests.Http.Routing;

public sealed class RouteTableTests
{
    private const string Hosts = """
        {"name":"hosts","virtual_hosts":[
          {"name":"exact","domains":["api.example.com","API2.example.com:8080"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"exact"}}]},
          {"name":"short-suffix","domains":["*.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"short-suffix"}}]},
          {"name":"long-suffix","domains":["*.eu.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"long-suffix"}}]},
          {"name":"dash-suffix","domains":["*-canary.example.org"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"dash-suffix"}}]},
          {"name":"short-prefix","domains":["web.*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"short-prefix"}}]},
          {"name":"long-prefix","domains":["web.internal.*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"long-prefix"}}]},
          {"name":"default","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"default"}}]}
        ]}
        """;

    [Theory]
    [InlineData("api.example.com", "exact")]
    [InlineData("API.Example.COM", "exact")]
    [InlineData("api2.example.com:8080", "exact")]
    [InlineData("x.example.com", "short-suffix")]
    [InlineData("api.example.com.evil", "default")]
    [InlineData("a.eu.example.com", "long-suffix")]
    [InlineData("eu.example.com", "short-suffix")]
    [InlineData("blue-canary.example.org", "dash-suffix")]
    [InlineData("-canary.example.org", "default")]
    [InlineData("web.example.net", "short-prefix")]
    [InlineData("web.internal.corp", "long-prefix")]
    [InlineData("x.web.internal.corp", "default")]
    [InlineData("other.net", "default")]
    [InlineData("", "default")]
    public void Match_Domains_EnvoyPrecedence(string authority, string expectedHost)
    {
        var table = RouteJson.Table(Hosts);

        var route = table.Match(new TestRequestHead(authority));

        Assert.NotNull(route);
        Assert.Equal(expectedHost, route.VirtualHost.Name);
    }

    [Fact]
    public void Match_OnlyTheWildcardHost_FindsItWithoutReadingTheAuthority()
    {
        var table = RouteJson.Table("""
            {"virtual_hosts":[{"name":"all","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"a"}}]}]}
            """);
        var head = new TestRequestHead("anything.example:8080");

        var route = table.Match(head);

        Assert.Equal("all", route!.VirtualHost.Name);
        Assert.Equal(0, head.AuthorityReads);
    }

    [Fact]
    public void Match_WildcardBesideNamedHosts_ReadsTheAuthority()
    {
        var table = RouteJson.Table("""
            {"virtual_hosts":[
              {"name":"all","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"a"}}]},
              {"name":"api","domains":["api.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"b"}}]}
            ]}
            """);
        var head = new TestRequestHead("api.example.com");

        Assert.Equal("api", table.Match(head)!.VirtualHost.Name);
        Assert.True(head.AuthorityReads > 0);
    }

    [Fact]
    public void Match_ExactBeatsWildcardsThatAlsoMatch()
    {
        var table = RouteJson.Table("""
            {"virtual_hosts":[
              {"name":"prefix","domains":["api.*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"a"}}]},
              {"name":"suffix","domains":["*.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"b"}}]},
              {"name":"exact","domains":["api.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"c"}}]}
            ]}
            """);

        Assert.Equal("exact", table.Match(new TestRequestHead("api.example.com"))!.VirtualHost.Name);
        Assert.Equal("prefix", table.Match(new TestRequestHead("api.example.com.x"))!.VirtualHost.Name);
        // Suffix wildcards beat prefix wildcards when both match.
        Assert.Equal("suffix", table.Match(new TestRequestHead("api.x.example.com"))!.VirtualHost.Name);
        Assert.Equal("prefix", table.Match(new TestRequestHead("api.other"))!.VirtualHost.Name);
    }

    [Fact]
    public void Match_AuthorityWithPortAndNoDefault_RetriesWithoutPort()
    {
        var table = RouteJson.Table("""
            {"virtual_hosts":[
              {"name":"plain","domains":["api.example.com","[::1]"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"a"}}]},
              {"name":"with-port","domains":["api.example.com:9000"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"b"}}]}
            ]}
            """);

        Assert.Equal("plain", table.Match(new TestRequestHead("api.example.com:8443"))!.VirtualHost.Name);
        Assert.Equal("with-port", table.Match(new TestRequestHead("api.example.com:9000"))!.VirtualHost.Name);
        Assert.Equal("plain", table.Match(new TestRequestHead("[::1]:8080"))!.VirtualHost.Name);
        Assert.Null(table.Match(new TestRequestHead("other.example.com:8443")));
    }

    [Fact]
    public void Match_AuthorityWithPortAndDefault_GoesToDefaultLikeEnvoy()
    {
        var table = RouteJson.Table("""
            {"virtual_hosts":[
              {"name":"plain","domains":["api.example.com"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"a"}}]},
              {"name":"default","domains":["*"],"routes":[{"match":{"prefix":"/"},"route":{"cluster":"b"}}]}
            ]}
            """);

        Assert.Equal("default", table.Match(new TestRequestHead("api.example.com:8443"))!.VirtualHost.Name);
    }

    [Theory]
    [InlineData("/api", "prefix")]
    [InlineData("/api/v1/users", "prefix")]
    [InlineData("/apix", "prefix")]
    [InlineData("/exact", "exact")]
    [InlineData("/exact/", "fallback")]
    [InlineData("/sep", "separated")]
    [InlineData("/sep/a", "separated")]
    [InlineData("/sepx", "fallback")]
    [InlineData("/items/123", "regex")]
    [InlineData("/items/123/x", "fallback")]
    [InlineData("/items/abc", "fallback")]
    [InlineData("/CI/Path", "insensitive")]
    [InlineData("/ci/path/more", "insensitive")]
    [InlineData("/other", "fallback")]
    public void Match_PathRules_FirstMatchingRouteWins(string path, string expectedRoute)
    {
        var table = RouteJson.Routes("""
            {"name":"prefix","match":{"prefix":"/api"},"route":{"cluster":"c"}},
            {"name":"exact","match":{"path":"/exact"},"route":{"cluster":"c"}},
            {"name":"separated","match":{"path_separated_prefix":"/sep"},"route":{"cluster":"c"}},
            {"name":"regex","match":{"safe_regex":{"regex":"/items/[0-9]+"}},"route":{"cluster":"c"}},
            {"name":"insensitive","match":{"prefix":"/ci/PATH","case_sensitive":false},"route":{"cluster":"c"}},
            {"name":"fallback","match":{"prefix":"/"},"route":{"cluster":"c"}}
            """);

        Assert.Equal(expectedRoute, table.Match(new TestRequestHead("h", path + "?q=1"))!.Name);
    }

    [Fact]
    public void Match_CaseSensitiveByDefault()
    {
        var table = RouteJson.Routes("""{"match":{"path":"/Exact"},"route":{"cluster":"c"}}""");

        Assert.NotNull(table.Match(new TestRequestHead("h", "/Exact")));
        Assert.Null(table.Match(new TestRequestHead("h", "/exact")));
    }

    [Fact]
    public void Match_RegexIsAgainstPathWithoutQuery()
    {
        var table = RouteJson.Routes("""{"match":{"safe_regex":{"google_re2":{},"regex":"/a/.*"}},"route":{"cluster":"c"}}""");

        Assert.NotNull(table.Match(new TestRequestHead("h", "/a/b?x=/c")));
        Assert.Null(table.Match(new TestRequestHead("h", "/b/a/")));
    }

    [Theory]
    [InlineData("exact", "x-env", "prod", true)]
    [InlineData("exact", "x-env", "production", false)]
    [InlineData("exact", null, null, false)]
    [InlineData("prefix", "x-env", "production", true)]
    [InlineData("suffix", "x-env", "preprod", true)]
    [InlineData("contains", "x-env", "a-rod-b", true)]
    [InlineData("regex", "x-env", "v42", true)]
    [InlineData("regex", "x-env", "v42x", false)]
    [InlineData("present", "x-env", "", true)]
    [InlineData("present", null, null, false)]
    [InlineData("absent", null, null, true)]
    [InlineData("absent", "x-env", "a", false)]
    [InlineData("string-ignore-case", "x-env", "PROD", true)]
    [InlineData("string-case", "x-env", "PROD", false)]
    [InlineData("string-case", "x-env", "prod", true)]
    [InlineData("string-prefix-ignore-case", "x-env", "STAGING-2", true)]
    [InlineData("string-suffix", "x-env", "eu-1", true)]
    [InlineData("string-contains-ignore-case", "x-env", "a-BETA-b", true)]
    [InlineData("string-regex", "x-env", "canary", true)]
    public void Match_HeaderMatchers(string kind, string? header, string? value, bool expected)
    {
        var matcher = kind switch
        {
            "exact" => """{"name":"X-Env","exact_match":"prod"}""",
            "prefix" => """{"name":"x-env","prefix_match":"prod"}""",
            "suffix" => """{"name":"x-env","suffix_match":"prod"}""",
            "contains" => """{"name":"x-env","contains_match":"rod"}""",
            "regex" => """{"name":"x-env","safe_regex_match":{"regex":"v[0-9]+"}}""",
            "present" => """{"name":"x-env","present_match":true}""",
            "absent" => """{"name":"x-env","present_match":false}""",
            "string-ignore-case" => """{"name":"x-env","string_match":{"exact":"prod","ignore_case":true}}""",
            "string-case" => """{"name":"x-env","string_match":{"exact":"prod"}}""",
            "string-prefix-ignore-case" => """{"name":"x-env","string_match":{"prefix":"staging","ignore_case":true}}""",
            "string-suffix" => """{"name":"x-env","string_match":{"suffix":"-1"}}""",
            "string-contains-ignore-case" => """{"name":"x-env","string_match":{"contains":"beta","ignore_case":true}}""",
            "string-regex" => """{"name":"x-env","string_match":{"safe_regex":{"regex":"can.*"}}}""",
            _ => throw new ArgumentException(kind),
        };
        var table = RouteJson.Routes($$$"""{"match":{"prefix":"/","headers":[{{{matcher}}}]},"route":{"cluster":"c"}}""");
        var request = new TestRequestHead();
        if (header is not null)
        {
            request.WithHeader(header, value!);
        }

        Assert.Equal(expected, table.Match(request) is not null);
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("prod", false)]
    [InlineData("dev", true)]
    public void Match_InvertedHeaderMatch_MissingHeaderStillFails(string? value, bool expected)
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/","headers":[{"name":"x-env","string_match":{"exact":"prod"},"invert_match":true}]},"route":{"cluster":"c"}}""");
        var request = new TestRequestHead();
        if (value is not null)
        {
            request.WithHeader("x-env", value);
        }

        Assert.Equal(expected, table.Match(request) is not null);
    }

    [Fact]
    public void Match_InvertedPresentMatch_MatchesAbsence()
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/","headers":[{"name":"x-debug","present_match":true,"invert_match":true}]},"route":{"cluster":"c"}}""");

        Assert.NotNull(table.Match(new TestRequestHead()));
        Assert.Null(table.Match(new TestRequestHead().WithHeader("x-debug", "1")));
    }

    [Fact]
    public void Match_TreatMissingHeaderAsEmpty_MatchesEmptyPatterns()
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/","headers":[{"name":"x-tenant","string_match":{"exact":""},"treat_missing_header_as_empty":true}]},"route":{"cluster":"c"}}""");

        Assert.NotNull(table.Match(new TestRequestHead()));
        Assert.Null(table.Match(new TestRequestHead().WithHeader("x-tenant", "a")));
    }

    [Fact]
    public void Match_PseudoHeaders_ReadRequestProperties()
    {
        var table = RouteJson.Routes("""
            {"name":"post","match":{"prefix":"/","headers":[{"name":":method","string_match":{"exact":"POST"}}]},"route":{"cluster":"c"}},
            {"name":"https","match":{"prefix":"/","headers":[{"name":":scheme","string_match":{"exact":"https"}}]},"route":{"cluster":"c"}},
            {"name":"with-query","match":{"prefix":"/","headers":[{"name":":path","string_match":{"exact":"/p?debug=1"}}]},"route":{"cluster":"c"}},
            {"name":"authority","match":{"prefix":"/","headers":[{"name":":authority","string_match":{"suffix":".local"}}]},"route":{"cluster":"c"}},
            {"name":"host","match":{"prefix":"/","headers":[{"name":"host","string_match":{"prefix":"h."}}]},"route":{"cluster":"c"}}
            """);

        Assert.Equal("post", table.Match(new TestRequestHead("a").WithMethod("POST"))!.Name);
        Assert.Equal("https", table.Match(new TestRequestHead("a").WithScheme("https"))!.Name);
        Assert.Equal("with-query", table.Match(new TestRequestHead("a", "/p?debug=1"))!.Name);
        Assert.Equal("authority", table.Match(new TestRequestHead("svc.local"))!.Name);
        Assert.Equal("host", table.Match(new TestRequestHead("h.example"))!.Name);
        Assert.Null(table.Match(new TestRequestHead("a", "/p?debug=2")));
    }

    [Fact]
    public void Match_AllHeaderMatchersMustHold()
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/","headers":[{"name":"a","present_match":true},{"name":"b","present_match":true}]},"route":{"cluster":"c"}}""");

        Assert.Null(table.Match(new TestRequestHead().WithHeader("a", "1")));
        Assert.NotNull(table.Match(new TestRequestHead().WithHeader("a", "1").WithHeader("b", "2")));
    }

    [Theory]
    [InlineData("/?v=2", "exact")]
    [InlineData("/?a=1&v=2&b", "exact")]
    [InlineData("/?v=3", "present")]
    [InlineData("/?x=1&v", "present")]
    [InlineData("/?vv=2", "fallback")]
    [InlineData("/?q=hello%20world", "decoded")]
    [InlineData("/?q=hello+world", "decoded")]
    [InlineData("/?mode=FAST", "ignore-case")]
    [InlineData("/", "fallback")]
    public void Match_QueryParameters(string pathAndQuery, string expectedRoute)
    {
        var table = RouteJson.Routes("""
            {"name":"exact","match":{"prefix":"/","query_parameters":[{"name":"v","string_match":{"exact":"2"}}]},"route":{"cluster":"c"}},
            {"name":"present","match":{"prefix":"/","query_parameters":[{"name":"v","present_match":true}]},"route":{"cluster":"c"}},
            {"name":"decoded","match":{"prefix":"/","query_parameters":[{"name":"q","string_match":{"exact":"hello world"}}]},"route":{"cluster":"c"}},
            {"name":"ignore-case","match":{"prefix":"/","query_parameters":[{"name":"mode","string_match":{"exact":"fast","ignore_case":true}}]},"route":{"cluster":"c"}},
            {"name":"fallback","match":{"prefix":"/"},"route":{"cluster":"c"}}
            """);

        Assert.Equal(expectedRoute, table.Match(new TestRequestHead("h", pathAndQuery))!.Name);
    }

    [Fact]
    public void Match_NoRouteMatches_ReturnsNull()
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/api"},"route":{"cluster":"c"}}""");

        Assert.Null(table.Match(new TestRequestHead("h", "/web")));
    }

    [Fact]
    public void Match_PrefixAndHeaderMatch_DoesNotAllocate()
    {
        var table = RouteJson.Table("""
            {"virtual_hosts":[
              {"name":"a","domains":["a.example.com"],"routes":[{"match":{"prefix":"/x"},"route":{"cluster":"a"}}]},
              {"name":"b","domains":["*.example.com"],"routes":[
                {"match":{"prefix":"/API","case_sensitive":false,"headers":[{"name":"x-env","string_match":{"exact":"PROD","ignore_case":true}}],
                  "query_parameters":[{"name":"v","string_match":{"prefix":"2"}}]},"route":{"cluster":"b"}}]}
            ]}
            """);
        var request = new TestRequestHead("B.Example.com:443", "/api/users?v=2").WithHeader("x-env", "prod");
        Assert.NotNull(table.Match(request));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            table.Match(request);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Match_RegexAndPathPseudoHeader_DoesNotAllocateOnceWarm()
    {
        var table = RouteJson.Routes("""
            {"match":{"safe_regex":{"regex":"/items/[0-9]+"},"headers":[{"name":":path","string_match":{"suffix":"?v=1"}},
              {"name":"x-env","safe_regex_match":{"regex":"p.*d"}}]},"route":{"cluster":"c"}}
            """);
        var request = new TestRequestHead("h", "/items/42?v=1").WithHeader("x-env", "prod");
        Assert.NotNull(table.Match(request));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            table.Match(request);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void ReferencedClusters_ListsEveryCluster()
    {
        var table = RouteJson.Routes("""
            {"match":{"prefix":"/a"},"route":{"cluster":"one"}},
            {"match":{"prefix":"/b"},"route":{"weighted_clusters":{"clusters":[{"name":"two","weight":1},{"name":"three","weight":1}]}}},
            {"match":{"prefix":"/c"},"direct_response":{"status":200}}
            """);

        Assert.Equal(["one", "three", "two"], table.ReferencedClusters.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Translate_KeepsNamesAndDomains()
    {
        var table = RouteJson.Table("""{"name":"main","validate_clusters":false,"virtual_hosts":[{"name":"vh","domains":["API.example.com","*"],"routes":[{"name":"r0","match":{"prefix":"/"},"route":{"cluster":"c"}}]}]}""");

        Assert.Equal("main", table.Name);
        Assert.False(table.ValidateClusters);
        Assert.Equal(["api.example.com", "*"], table.VirtualHosts[0].Domains);
        Assert.Equal("r0", table.VirtualHosts[0].Routes[0].Name);
    }

    [Fact]
    public void Translate_VirtualHostRetryPolicy_AppliesToRoutesWithoutTheirOwn()
    {
        var table = RouteJson.Table("""
            {"name":"r","virtual_hosts":[{"name":"vh","domains":["*"],
              "retry_policy":{"retry_on":"5xx","num_retries":4},
              "routes":[
                {"match":{"prefix":"/own"},"route":{"cluster":"c","retry_policy":{"retry_on":"reset","num_retries":1}}},
                {"match":{"prefix":"/"},"route":{"cluster":"c"}}]}]}
            """);

        var own = (ClusterAction)table.Match(new TestRequestHead("a", "/own"))!.Action;
        var inherited = (ClusterAction)table.Match(new TestRequestHead("a", "/other"))!.Action;

        Assert.Equal(Herald.Proxy.Http.Retry.RetryOn.Reset, own.RetryPolicy!.RetryOn);
        Assert.Equal(1, own.RetryPolicy.NumRetries);
        Assert.Equal(Herald.Proxy.Http.Retry.RetryOn.FiveXx, inherited.RetryPolicy!.RetryOn);
        Assert.Equal(4, inherited.RetryPolicy.NumRetries);
    }
}
