using System.Text;
using Herald.Proxy.Http.Routing;
using Xunit;

namespace Herald.Tests.Http.Routing;

public sealed class RouteActionTests
{
    private static string Location(string redirectJson, TestRequestHead request, string match = """{"prefix":"/"}""")
    {
        var table = RouteJson.Routes($$$"""{"match":{{{match}}},"redirect":{{{redirectJson}}}}""");
        return Assert.IsType<RedirectAction>(table.Match(request)!.Action).BuildLocation(request);
    }

    [Theory]
    [InlineData("""{"https_redirect":true}""", "http", "example.com", "/a?b=1", "https://example.com/a?b=1")]
    [InlineData("""{"https_redirect":true}""", "http", "example.com:80", "/a", "https://example.com/a")]
    [InlineData("""{"https_redirect":true}""", "http", "example.com:8080", "/a", "https://example.com:8080/a")]
    [InlineData("""{"scheme_redirect":"http"}""", "https", "example.com:443", "/", "http://example.com/")]
    [InlineData("""{"host_redirect":"new.example.com"}""", "https", "old.example.com:8443", "/p?q", "https://new.example.com/p?q")]
    [InlineData("""{"port_redirect":8443}""", "http", "example.com:80", "/p", "http://example.com:8443/p")]
    [InlineData("""{"host_redirect":"new.example.com","port_redirect":9000}""", "http", "old", "/", "http://new.example.com:9000/")]
    [InlineData("""{"path_redirect":"/moved"}""", "http", "h", "/old?keep=1", "http://h/moved?keep=1")]
    [InlineData("""{"path_redirect":"/moved?fixed=1"}""", "http", "h", "/old?keep=1", "http://h/moved?fixed=1")]
    [InlineData("""{"path_redirect":"/moved","strip_query":true}""", "http", "h", "/old?keep=1", "http://h/moved")]
    [InlineData("""{"regex_rewrite":{"pattern":{"regex":"^/v1/(.*)$"},"substitution":"/v2/\\1"}}""", "http", "h", "/v1/x/y?z", "http://h/v2/x/y?z")]
    [InlineData("""{"https_redirect":true}""", "http", "[::1]:80", "/", "https://[::1]/")]
    public void BuildLocation_EnvoyRules(string redirect, string scheme, string authority, string pathAndQuery, string expected)
    {
        Assert.Equal(expected, Location(redirect, new TestRequestHead(authority, pathAndQuery).WithScheme(scheme)));
    }

    [Fact]
    public void BuildLocation_PrefixRewrite_ReplacesMatchedPrefix()
    {
        var location = Location("""{"prefix_rewrite":"/new/"}""", new TestRequestHead("h", "/old/page?x=1"), """{"prefix":"/old/"}""");

        Assert.Equal("http://h/new/page?x=1", location);
    }

    [Theory]
    [InlineData(null, 301)]
    [InlineData("MOVED_PERMANENTLY", 301)]
    [InlineData("FOUND", 302)]
    [InlineData("SEE_OTHER", 303)]
    [InlineData("TEMPORARY_REDIRECT", 307)]
    [InlineData("PERMANENT_REDIRECT", 308)]
    public void Redirect_ResponseCode(string? code, int expected)
    {
        var redirect = code is null ? """{"https_redirect":true}""" : $$$"""{"https_redirect":true,"response_code":"{{{code}}}"}""";
        var table = RouteJson.Routes($$$"""{"match":{"prefix":"/"},"redirect":{{{redirect}}}}""");

        Assert.Equal(expected, Assert.IsType<RedirectAction>(table.Match(new TestRequestHead())!.Action).StatusCode);
    }

    [Fact]
    public void DirectResponse_InlineStringAndBytes()
    {
        var table = RouteJson.Routes("""
            {"match":{"prefix":"/s"},"direct_response":{"status":503,"body":{"inline_string":"down for maintenance"}}},
            {"match":{"prefix":"/b"},"direct_response":{"status":200,"body":{"inline_bytes":"AAEC"}}},
            {"match":{"prefix":"/e"},"direct_response":{"status":204}}
            """);

        var text = Assert.IsType<DirectResponseAction>(table.Match(new TestRequestHead("h", "/s"))!.Action);
        var bytes = Assert.IsType<DirectResponseAction>(table.Match(new TestRequestHead("h", "/b"))!.Action);
        var empty = Assert.IsType<DirectResponseAction>(table.Match(new TestRequestHead("h", "/e"))!.Action);

        Assert.Equal(503, text.StatusCode);
        Assert.Equal("down for maintenance", Encoding.UTF8.GetString(text.Body.Span));
        Assert.Equal(new byte[] { 0, 1, 2 }, bytes.Body.ToArray());
        Assert.Equal(204, empty.StatusCode);
        Assert.True(empty.Body.IsEmpty);
    }

    [Fact]
    public void HeaderMutations_MergedRouteThenVirtualHostThenConfiguration()
    {
        var table = RouteJson.Table("""
            {"request_headers_to_add":[{"header":{"key":"X-Level","value":"config"}}],
             "request_headers_to_remove":["X-Remove-Config"],
             "response_headers_to_add":[{"header":{"key":"x-resp","value":"config"}}],
             "virtual_hosts":[{"name":"vh","domains":["*"],
               "request_headers_to_add":[{"header":{"key":"x-level","value":"vhost"},"append_action":"OVERWRITE_IF_EXISTS_OR_ADD"}],
               "request_headers_to_remove":["x-remove-vhost","x-remove-route"],
               "routes":[
                 {"name":"with","match":{"prefix":"/with"},"route":{"cluster":"c"},
                  "request_headers_to_add":[
                    {"header":{"key":"x-level","value":"route"},"append":false},
                    {"header":{"key":"x-pct","value":"100%% sure"},"append_action":"ADD_IF_ABSENT"},
                    {"header":{"key":"x-empty","value":""}},
                    {"header":{"key":"x-kept-empty","value":""},"keep_empty_value":true,"append_action":"OVERWRITE_IF_EXISTS"}],
                  "request_headers_to_remove":["x-remove-route"],
                  "response_headers_to_remove":["server"]},
                 {"name":"without","match":{"prefix":"/"},"route":{"cluster":"c"}}]}]}
            """);

        var route = table.Match(new TestRequestHead("h", "/with"))!;
        var request = route.RequestHeaderMutations;

        Assert.Equal(
            [
                new HeaderToAdd("x-level", "route", HeaderAppendAction.OverwriteIfExistsOrAdd),
                new HeaderToAdd("x-pct", "100% sure", HeaderAppendAction.AddIfAbsent),
                new HeaderToAdd("x-kept-empty", "", HeaderAppendAction.OverwriteIfExists),
                new HeaderToAdd("x-level", "vhost", HeaderAppendAction.OverwriteIfExistsOrAdd),
                new HeaderToAdd("x-level", "config", HeaderAppendAction.AppendIfExistsOrAdd),
            ],
            request.Add);
        Assert.Equal(["x-remove-route", "x-remove-vhost", "x-remove-config"], request.Remove);
        Assert.Equal("x-level"u8.ToArray(), request.Add[0].NameBytes);
        Assert.Equal("100% sure"u8.ToArray(), request.Add[1].ValueBytes);
        Assert.Equal(["server"], route.ResponseHeaderMutations.Remove);
        Assert.Equal([new HeaderToAdd("x-resp", "config", HeaderAppendAction.AppendIfExistsOrAdd)], route.ResponseHeaderMutations.Add);

        var plain = table.Match(new TestRequestHead("h", "/other"))!;
        Assert.Equal(["vhost", "config"], plain.RequestHeaderMutations.Add.Select(h => h.Value));
        Assert.False(plain.RequestHeaderMutations.IsEmpty);
    }

    [Fact]
    public void HeaderMutations_NoneConfigured_Empty()
    {
        var route = RouteJson.Routes("""{"match":{"prefix":"/"},"route":{"cluster":"c"}}""").Match(new TestRequestHead())!;

        Assert.True(route.RequestHeaderMutations.IsEmpty);
        Assert.True(route.ResponseHeaderMutations.IsEmpty);
    }
}
