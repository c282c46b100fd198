using Xunit;

namespace Herald.Tests.Http.Routing;

public sealed class RouteTableValidationTests
{
    private const string Vh0 = "rc.virtual_hosts[0]";
    private const string R0 = "rc.virtual_hosts[0].routes[0]";

    public static TheoryData<string, string> RejectedConfigurations => new()
    {
        // Fields Herald does not honour.
        { """{"most_specific_header_mutations_wins":true,"virtual_hosts":[]}""", "rc.most_specific_header_mutations_wins" },
        { """{"internal_only_headers":["x-internal"]}""", "rc.internal_only_headers" },
        { """{"virtual_hosts":[{"name":"vh","domains":["*"],"require_tls":"EXTERNAL_ONLY"}]}""", Vh0 + ".require_tls" },
        { """{"virtual_hosts":[{"name":"vh","domains":["*"],"hedge_policy":{"initial_requests":2}}]}""", Vh0 + ".hedge_policy" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"decorator":{"operation":"op"}}"""), R0 + ".decorator" },
        { Route("""{"match":{"prefix":"/"},"non_forwarding_action":{}}"""), R0 + ".non_forwarding_action" },
        { Route("""{"match":{"prefix":"/","grpc":{}},"route":{"cluster":"c"}}"""), R0 + ".match.grpc" },
        { Route("""{"match":{"prefix":"/","runtime_fraction":{"default_value":{"numerator":1}}},"route":{"cluster":"c"}}"""), R0 + ".match.runtime_fraction" },
        { Route("""{"match":{"connect_matcher":{}},"route":{"cluster":"c"}}"""), R0 + ".match.connect_matcher" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","priority":"HIGH"}}"""), R0 + ".route.priority" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","retry_policy":{"num_retries":3,"retry_priority":{"name":"p"}}}}"""), R0 + ".route.retry_policy.retry_priority" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","retry_policy":{"retry_on":"5xx,envoy-ratelimited"}}}"""), R0 + ".route.retry_policy.retry_on" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster_header":"x-cluster"}}"""), R0 + ".route.cluster_header" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","request_mirror_policies":[{"cluster":"m"}]}}"""), R0 + ".route.request_mirror_policies" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","cluster_not_found_response_code":"NOT_FOUND"}}"""), R0 + ".route.cluster_not_found_response_code" },
        { Route("""{"match":{"prefix":"/","headers":[{"name":"x","range_match":{"start":1,"end":5}}]},"route":{"cluster":"c"}}"""), R0 + ".match.headers[0].range_match" },
        { Route("""{"match":{"safe_regex":{"google_re2":{"max_program_size":100},"regex":"/.*"}},"route":{"cluster":"c"}}"""), R0 + ".match.safe_regex.google_re2.max_program_size" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_add":[{"header":{"key":"x","raw_value":"AA=="}}]}"""), R0 + ".request_headers_to_add[0].header.raw_value" },
        { Route("""{"match":{"prefix":"/"},"direct_response":{"status":200,"body":{"filename":"/etc/motd"}}}"""), R0 + ".direct_response.body.filename" },
        { Route("""{"match":{"prefix":"/"},"direct_response":{"status":200,"body":{"environment_variable":"BODY"}}}"""), R0 + ".direct_response.body.environment_variable" },
        { Route("""{"match":{"prefix":"/"},"route":{"weighted_clusters":{"clusters":[{"name":"a","weight":1}],"runtime_key_prefix":"rt"}}}"""), R0 + ".route.weighted_clusters.runtime_key_prefix" },
        { Route("""{"match":{"prefix":"/"},"route":{"weighted_clusters":{"clusters":[{"name":"a","weight":1,"host_rewrite_literal":"h"}]}}}"""), R0 + ".route.weighted_clusters.clusters[0].host_rewrite_literal" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"query_parameter":{"name":"u"}}]}}"""), R0 + ".route.hash_policy[0].query_parameter" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"header":{"header_name":"u","regex_rewrite":{"pattern":{"regex":"a"}}}}]}}"""), R0 + ".route.hash_policy[0].header.regex_rewrite" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"cookie":{"name":"s","ttl":"10s"}}]}}"""), R0 + ".route.hash_policy[0].cookie.ttl" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"cookie":{"name":"s","path":"/"}}]}}"""), R0 + ".route.hash_policy[0].cookie.path" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"connection_properties":{}}]}}"""), R0 + ".route.hash_policy[0].connection_properties.source_ip" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","upgrade_configs":[{"upgrade_type":"websocket","connect_config":{}}]}}"""), R0 + ".route.upgrade_configs[0].connect_config" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","upgrade_configs":[{"upgrade_type":"CONNECT"}]}}"""), R0 + ".route.upgrade_configs[0].upgrade_type" },

        // Values Herald refuses.
        { """{"virtual_hosts":[{"name":"vh","domains":[]}]}""", Vh0 + ".domains" },
        { """{"virtual_hosts":[{"domains":["*"]}]}""", Vh0 + ".name" },
        { """{"virtual_hosts":[{"name":"vh","domains":["a*b.example.com"]}]}""", Vh0 + ".domains[0]" },
        { """{"virtual_hosts":[{"name":"vh","domains":["*.a.*"]}]}""", Vh0 + ".domains[0]" },
        { """{"virtual_hosts":[{"name":"a","domains":["x.com","Y.com"]},{"name":"b","domains":["z.com","y.COM"]}]}""", "rc.virtual_hosts[1].domains[1]" },
        { """{"virtual_hosts":[{"name":"a","domains":["*"]},{"name":"b","domains":["*"]}]}""", "rc.virtual_hosts[1].domains[0]" },
        { Route("""{"match":{"prefix":"/"}}"""), R0 },
        { Route("""{"route":{"cluster":"c"}}"""), R0 + ".match" },
        { Route("""{"match":{"headers":[{"name":"a"}]},"route":{"cluster":"c"}}"""), R0 + ".match" },
        { Route("""{"match":{"safe_regex":{"regex":"/(unclosed"}},"route":{"cluster":"c"}}"""), R0 + ".match.safe_regex.regex" },
        { Route("""{"match":{"safe_regex":{"regex":"/(a)\\1"}},"route":{"cluster":"c"}}"""), R0 + ".match.safe_regex.regex" },
        { Route("""{"match":{"prefix":"/","headers":[{"name":"x","string_match":{"safe_regex":{"regex":"[z-a]"}}}]},"route":{"cluster":"c"}}"""), R0 + ".match.headers[0].string_match.safe_regex.regex" },
        { Route("""{"match":{"prefix":"/","headers":[{"name":":protocol","present_match":true}]},"route":{"cluster":"c"}}"""), R0 + ".match.headers[0].name" },
        { Route("""{"match":{"prefix":"/","query_parameters":[{"name":"","present_match":true}]},"route":{"cluster":"c"}}"""), R0 + ".match.query_parameters[0].name" },
        { Route("""{"match":{"path_separated_prefix":"/a/"},"route":{"cluster":"c"}}"""), R0 + ".match.path_separated_prefix" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_add":[{"header":{"key":"x-id","value":"%REQ(x-request-id)%"}}]}"""), R0 + ".request_headers_to_add[0].header.value" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"response_headers_to_add":[{"header":{"key":"x-up","value":"50%"}}]}"""), R0 + ".response_headers_to_add[0].header.value" },
        { """{"request_headers_to_add":[{"header":{"key":"x","value":"%START_TIME%"}}]}""", "rc.request_headers_to_add[0].header.value" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_add":[{"header":{"key":":path","value":"/x"}}]}"""), R0 + ".request_headers_to_add[0].header.key" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_remove":["Host"]}"""), R0 + ".request_headers_to_remove[0]" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_add":[{"header":{"key":"x","value":"1"},"append":true,"append_action":"ADD_IF_ABSENT"}]}"""), R0 + ".request_headers_to_add[0].append" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_add":[{"header":{"key":"bad name","value":"1"}}]}"""), R0 + ".request_headers_to_add[0].header.key" },
        { Route("""{"match":{"safe_regex":{"regex":"/a.*"}},"route":{"cluster":"c","prefix_rewrite":"/b"}}"""), R0 + ".route.prefix_rewrite" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","prefix_rewrite":"/b","regex_rewrite":{"pattern":{"regex":"a"},"substitution":"b"}}}"""), R0 + ".route.regex_rewrite" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","regex_rewrite":{"pattern":{"regex":"a"},"substitution":"\\x"}}}"""), R0 + ".route.regex_rewrite.substitution" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":"c","timeout":"-1s"}}"""), R0 + ".route.timeout" },
        { Route("""{"match":{"prefix":"/"},"route":{"cluster":""}}"""), R0 + ".route.cluster" },
        { Route("""{"match":{"prefix":"/"},"route":{"weighted_clusters":{"clusters":[{"name":"a","weight":0}]}}}"""), R0 + ".route.weighted_clusters.clusters" },
        { Route("""{"match":{"prefix":"/"},"route":{"weighted_clusters":{"clusters":[{"name":"a","weight":1},{"name":"b","weight":2}],"total_weight":100}}}"""), R0 + ".route.weighted_clusters.total_weight" },
        { Route("""{"match":{"prefix":"/"},"route":{"weighted_clusters":{"clusters":[{"weight":1}]}}}"""), R0 + ".route.weighted_clusters.clusters[0].name" },
        { Route("""{"match":{"prefix":"/"},"direct_response":{"status":100}}"""), R0 + ".direct_response.status" },
        { Route($$$$"""{"match":{"prefix":"/"},"direct_response":{"status":200,"body":{"inline_string":"{{{{new string('x', 5000)}}}}"}}}"""), R0 + ".direct_response.body" },
        { Route("""{"match":{"prefix":"/"},"redirect":{"port_redirect":70000}}"""), R0 + ".redirect.port_redirect" },
        { Route("""{"match":{"prefix":"/"},"redirect":{"scheme_redirect":"ht tp"}}"""), R0 + ".redirect.scheme_redirect" },
        { Route("""{"match":{"safe_regex":{"regex":"/.*"}},"redirect":{"prefix_rewrite":"/b"}}"""), R0 + ".redirect.prefix_rewrite" },
    };

    [Theory]
    [MemberData(nameof(RejectedConfigurations))]
    public void Translate_Rejected_FieldPathNamesTheField(string json, string expectedPath)
    {
        var error = RouteJson.Rejected(json);

        Assert.Equal(expectedPath, error.FieldPath);
        Assert.NotEmpty(error.Fix);
    }

    [Fact]
    public void Translate_CookieTtl_SaysCookiesAreNotGenerated()
    {
        var error = RouteJson.RejectedRoutes("""{"match":{"prefix":"/"},"route":{"cluster":"c","hash_policy":[{"cookie":{"name":"s","ttl":"10s"}}]}}""");

        Assert.Contains("does not generate cookies", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Translate_DoublePercent_IsALiteralPercent()
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/"},"route":{"cluster":"c"},"request_headers_to_add":[{"header":{"key":"x","value":"%%A%%"}}]}""");

        Assert.Equal("%A%", table.Match(new TestRequestHead())!.RequestHeaderMutations.Add[0].Value);
    }

    [Fact]
    public void Translate_WebSocketDisabledAndOtherUpgradeDisabled_Accepted()
    {
        var table = RouteJson.Routes("""{"match":{"prefix":"/"},"route":{"cluster":"c","upgrade_configs":[{"upgrade_type":"CONNECT","enabled":false}]}}""");

        Assert.NotNull(table.Match(new TestRequestHead()));
    }

    private static string Route(string route) =>
        $$$"""{"virtual_hosts":[{"name":"vh","domains":["*"],"routes":[{{{route}}}]}]}""";
}
