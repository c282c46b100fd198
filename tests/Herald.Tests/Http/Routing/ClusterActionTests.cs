using System.Text;
using Herald.Proxy.Http.Routing;
using Xunit;

namespace Herald.Tests.Http.Routing;

public sealed class ClusterActionTests
{
    private static ClusterAction Action(string routeJson, string pathAndQuery = "/")
    {
        var table = RouteJson.Routes(routeJson);
        return Assert.IsType<ClusterAction>(table.Match(new TestRequestHead("h", pathAndQuery))!.Action);
    }

    private static ClusterAction Weighted() => Action("""
        {"match":{"prefix":"/"},"route":{"weighted_clusters":{"clusters":[{"name":"stable","weight":80},{"name":"canary","weight":20}]}}}
        """);

    [Fact]
    public void PickCluster_Single_AlwaysTheCluster()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"backend"}}""");

        Assert.Equal("backend", action.ClusterName);
        Assert.Empty(action.WeightedClusters);
        Assert.Equal("backend", action.PickCluster(0));
        Assert.Equal("backend", action.PickCluster(uint.MaxValue));
    }

    [Fact]
    public void PickCluster_SequentialRandoms_SplitsByWeight()
    {
        var action = Weighted();

        var canary = 0;
        for (uint i = 0; i < 10_000; i++)
        {
            if (action.PickCluster(i) == "canary")
            {
                canary++;
            }
        }

        Assert.Null(action.ClusterName);
        Assert.Equal([new WeightedCluster("stable", 80), new WeightedCluster("canary", 20)], action.WeightedClusters);
        Assert.InRange(canary, 1_700, 2_300);
    }

    [Fact]
    public void PickCluster_RandomValues_SplitsByWeight()
    {
        var action = Weighted();
        var random = new Random(12345);

        var canary = 0;
        for (var i = 0; i < 10_000; i++)
        {
            if (action.PickCluster((uint)random.NextInt64(0, 1L << 32)) == "canary")
            {
                canary++;
            }
        }

        Assert.InRange(canary, 1_700, 2_300);
    }

    [Fact]
    public void PickCluster_ZeroWeightCluster_NeverPicked()
    {
        var action = Action("""
            {"match":{"prefix":"/"},"route":{"weighted_clusters":{"total_weight":3,"clusters":[{"name":"a","weight":0},{"name":"b","weight":3}]}}}
            """);

        for (uint i = 0; i < 100; i++)
        {
            Assert.Equal("b", action.PickCluster(i));
        }
    }

    [Fact]
    public void Timeout_DefaultsToFifteenSeconds_ZeroDisables()
    {
        Assert.Equal(TimeSpan.FromSeconds(15), Action("""{"match":{"prefix":"/"},"route":{"cluster":"c"}}""").Timeout);
        Assert.Equal(TimeSpan.Zero, Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","timeout":"0s"}}""").Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(2500), Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","timeout":"2.5s"}}""").Timeout);
    }

    [Fact]
    public void HostRewrite_LiteralAndAuto()
    {
        var literal = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","host_rewrite_literal":"backend.internal"}}""");
        var auto = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","auto_host_rewrite":true}}""");

        Assert.Equal("backend.internal", literal.HostRewriteLiteral);
        Assert.False(literal.AutoHostRewrite);
        Assert.Null(auto.HostRewriteLiteral);
        Assert.True(auto.AutoHostRewrite);
    }

    [Theory]
    [InlineData("""{"prefix":"/api/"}""", "/v2/", "/api/users?x=1&y=2", "/v2/users?x=1&y=2")]
    [InlineData("""{"prefix":"/api"}""", "/", "/api", "/")]
    [InlineData("""{"prefix":"/API/","case_sensitive":false}""", "/", "/api/users", "/users")]
    [InlineData("""{"path":"/old"}""", "/new", "/old?q", "/new?q")]
    [InlineData("""{"path_separated_prefix":"/svc"}""", "/backend", "/svc/a/b", "/backend/a/b")]
    public void TryRewritePath_PrefixRewrite_ReplacesMatchedPrefixAndKeepsQuery(string match, string rewrite, string request, string expected)
    {
        var action = Action($$$"""{"match":{{{match}}},"route":{"cluster":"c","prefix_rewrite":"{{{rewrite}}}"}}""", request);

        Assert.True(action.HasPathRewrite);
        Assert.True(action.TryRewritePath(new TestRequestHead("h", request), out var rewritten));
        Assert.Equal(expected, Encoding.UTF8.GetString(rewritten));
    }

    [Fact]
    public void TryRewritePath_RegexRewrite_SubstitutesGroupsAndKeepsQuery()
    {
        var action = Action("""
            {"match":{"prefix":"/"},"route":{"cluster":"c","regex_rewrite":{"pattern":{"regex":"^/service/([^/]+)(/.*)$"},"substitution":"\\2/instance/\\1"}}}
            """);

        Assert.True(action.TryRewritePath(new TestRequestHead("h", "/service/foo/v1/api?debug=1"), out var rewritten));
        Assert.Equal("/v1/api/instance/foo?debug=1", Encoding.UTF8.GetString(rewritten));
    }

    [Fact]
    public void TryRewritePath_RegexRewrite_ReplacesEveryMatch()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","regex_rewrite":{"pattern":{"regex":"one"},"substitution":"two$"}}}""");

        Assert.True(action.TryRewritePath(new TestRequestHead("h", "/aaa/one/one"), out var rewritten));
        Assert.Equal("/aaa/two$/two$", Encoding.UTF8.GetString(rewritten));
    }

    [Fact]
    public void TryRewritePath_NoRewrite_False()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c"}}""");

        Assert.False(action.HasPathRewrite);
        Assert.False(action.TryRewritePath(new TestRequestHead("h", "/a"), out _));
    }

    [Fact]
    public void AllowWebSocketUpgrade_DisabledOnlyByRouteConfig()
    {
        Assert.True(Action("""{"match":{"prefix":"/"},"route":{"cluster":"c"}}""").AllowWebSocketUpgrade);
        Assert.True(Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","upgrade_configs":[{"upgrade_type":"websocket"}]}}""").AllowWebSocketUpgrade);
        Assert.False(Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","upgrade_configs":[{"upgrade_type":"WebSocket","enabled":false}]}}""").AllowWebSocketUpgrade);
    }

    [Fact]
    public void ComputeHash_NoPolicies_Null()
    {
        Assert.Null(Action("""{"match":{"prefix":"/"},"route":{"cluster":"c"}}""").ComputeHash(new TestRequestHead()));
    }

    [Fact]
    public void ComputeHash_Header_StableAndValueDependent()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"header":{"header_name":"X-User"}}]}}""");

        var alice = action.ComputeHash(new TestRequestHead().WithHeader("x-user", "alice"));
        var aliceAgain = action.ComputeHash(new TestRequestHead("other", "/x").WithHeader("x-user", "alice"));
        var bob = action.ComputeHash(new TestRequestHead().WithHeader("x-user", "bob"));

        Assert.Equal(XxHash64.Hash("alice"u8), alice);
        Assert.Equal(alice, aliceAgain);
        Assert.NotEqual(alice, bob);
        Assert.Null(action.ComputeHash(new TestRequestHead()));
    }

    [Fact]
    public void ComputeHash_Cookie_FindsNamedCookie()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"cookie":{"name":"session"}}]}}""");

        var hash = action.ComputeHash(new TestRequestHead().WithHeader("cookie", "theme=dark; session=\"abc123\"; x=1"));

        Assert.Equal(XxHash64.Hash("abc123"u8), hash);
        Assert.Null(action.ComputeHash(new TestRequestHead().WithHeader("cookie", "sessionx=1")));
    }

    [Fact]
    public void ComputeHash_SourceIp_HashesAddressTextAndUnmapsIPv4()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"connection_properties":{"source_ip":true}}]}}""");

        Assert.Equal(XxHash64.Hash("10.1.2.3"u8), action.ComputeHash(new TestRequestHead().WithRemote("10.1.2.3")));
        Assert.Equal(XxHash64.Hash("10.1.2.3"u8), action.ComputeHash(new TestRequestHead().WithRemote("::ffff:10.1.2.3")));
        Assert.Equal(XxHash64.Hash("2001:db8::1"u8), action.ComputeHash(new TestRequestHead().WithRemote("2001:db8::1")));
        Assert.Null(action.ComputeHash(new TestRequestHead()));
    }

    [Fact]
    public void ComputeHash_SeveralPolicies_CombinedLikeEnvoy()
    {
        var action = Action("""
            {"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"header":{"header_name":"a"}},{"header":{"header_name":"b"}}]}}
            """);
        var a = XxHash64.Hash("1"u8);
        var b = XxHash64.Hash("2"u8);

        var both = action.ComputeHash(new TestRequestHead().WithHeader("a", "1").WithHeader("b", "2"));
        var onlyB = action.ComputeHash(new TestRequestHead().WithHeader("b", "2"));

        Assert.Equal(((a << 1) | (a >> 63)) ^ b, both);
        Assert.Equal(b, onlyB);
    }

    [Fact]
    public void ComputeHash_DuplicatePolicies_DoNotCancelOut()
    {
        var action = Action("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"header":{"header_name":"a"}},{"header":{"header_name":"a"}}]}}""");

        Assert.NotEqual(0UL, action.ComputeHash(new TestRequestHead().WithHeader("a", "1")));
    }

    [Fact]
    public void ComputeHash_Terminal_StopsOnlyWhenItProducedAValue()
    {
        var action = Action("""
            {"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"header":{"header_name":"a"},"terminal":true},{"header":{"header_name":"b"}}]}}
            """);

        Assert.Equal(XxHash64.Hash("1"u8), action.ComputeHash(new TestRequestHead().WithHeader("a", "1").WithHeader("b", "2")));
        Assert.Equal(XxHash64.Hash("2"u8), action.ComputeHash(new TestRequestHead().WithHeader("b", "2")));
    }
}
