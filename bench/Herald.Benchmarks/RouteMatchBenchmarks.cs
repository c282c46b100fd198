using BenchmarkDotNet.Attributes;
using Envoy.Type.Matcher.V3;
using Herald.Proxy.Http.Http1;
using Herald.Proxy.Http.Routing;
using Pb = Envoy.Config.Route.V3;

namespace Herald.Benchmarks;

/// <summary>
/// Virtual host lookup plus first-match route search over a table of 20 virtual hosts x 10
/// routes (prefix, exact path, header and regex rules), on already parsed HTTP/1.1 heads.
/// </summary>
[MemoryDiagnoser]
public class RouteMatchBenchmarks
{
    private const int Hosts = 20;
    private const int RoutesPerHost = 10;

    private RouteTable _table = null!;
    private Http1RequestHead _firstRoute = null!;
    private Http1RequestHead _lastRouteRegex = null!;
    private Http1RequestHead _headerRoute = null!;
    private Http1RequestHead _wildcardHost = null!;
    private Http1RequestHead _noRoute = null!;

    [GlobalSetup]
    public void Setup()
    {
        _table = RouteTable.Translate(BuildRouteConfiguration(), "route_config");
        _firstRoute = Head("GET /svc0/items/42 HTTP/1.1\r\nHost: svc0.example.com\r\n\r\n");
        _lastRouteRegex = Head("GET /v7/orders/123456 HTTP/1.1\r\nHost: svc19.example.com\r\nUser-Agent: curl/8.5.0\r\n\r\n");
        _headerRoute = Head("GET /svc10/beta HTTP/1.1\r\nHost: svc10.example.com:8080\r\nx-canary: true\r\nAccept: */*\r\n\r\n");
        _wildcardHost = Head("GET /anything HTTP/1.1\r\nHost: edge.example.org\r\n\r\n");
        _noRoute = Head("GET /nowhere HTTP/1.1\r\nHost: svc5.example.com\r\n\r\n");

        Check(_firstRoute, "svc0-r0");
        Check(_lastRouteRegex, "svc19-r9");
        Check(_headerRoute, "svc10-r2");
        Check(_wildcardHost, "wildcard");
        if (_table.Match(_noRoute) is not null)
        {
            throw new InvalidOperationException("expected no route");
        }
    }

    [Benchmark(Description = "exact host, first route (prefix)")]
    public object? FirstRoute() => _table.Match(_firstRoute);

    [Benchmark(Description = "exact host, 10th route (regex)")]
    public object? LastRouteRegex() => _table.Match(_lastRouteRegex);

    [Benchmark(Description = "host with port, header-matched route")]
    public object? HeaderRoute() => _table.Match(_headerRoute);

    [Benchmark(Description = "suffix wildcard host (*.example.org)")]
    public object? WildcardHost() => _table.Match(_wildcardHost);

    [Benchmark(Description = "no route (all 10 rules tried)")]
    public object? NoRoute() => _table.Match(_noRoute);

    private static Http1RequestHead Head(string text) => SampleRequests.Parse(System.Text.Encoding.ASCII.GetBytes(text));

    private void Check(Http1RequestHead head, string expected)
    {
        var route = _table.Match(head);
        if (route?.Name != expected)
        {
            throw new InvalidOperationException($"expected route {expected}, matched {route?.Name ?? "none"}");
        }
    }

    /// <summary>Each host: prefix and exact routes, a header route, a regex route last.</summary>
    private static Pb.RouteConfiguration BuildRouteConfiguration()
    {
        var config = new Pb.RouteConfiguration { Name = "bench" };
        for (var h = 0; h < Hosts; h++)
        {
            var host = new Pb.VirtualHost { Name = $"svc{h}" };
            host.Domains.Add($"svc{h}.example.com");
            for (var r = 0; r < RoutesPerHost; r++)
            {
                var match = new Pb.RouteMatch();
                switch (r)
                {
                    case 0:
                        match.Prefix = $"/svc{h}/items";
                        break;
                    case 1:
                        match.Path = $"/svc{h}/health";
                        break;
                    case 2:
                        match.Prefix = $"/svc{h}/beta";
                        match.Headers.Add(new Pb.HeaderMatcher { Name = "x-canary", StringMatch = new StringMatcher { Exact = "true" } });
                        break;
                    case 9:
                        match.SafeRegex = new RegexMatcher { Regex = "/v[0-9]+/orders/[0-9]+" };
                        break;
                    default:
                        match.Prefix = $"/svc{h}/area{r}/";
                        match.CaseSensitive = r % 2 == 0;
                        break;
                }

                host.Routes.Add(new Pb.Route
                {
                    Name = $"svc{h}-r{r}",
                    Match = match,
                    Route_ = new Pb.RouteAction { Cluster = $"cluster{h}" },
                });
            }

            config.VirtualHosts.Add(host);
        }

        var wildcard = new Pb.VirtualHost { Name = "wildcard" };
        wildcard.Domains.Add("*.example.org");
        wildcard.Routes.Add(new Pb.Route
        {
            Name = "wildcard",
            Match = new Pb.RouteMatch { Prefix = "/" },
            Route_ = new Pb.RouteAction { Cluster = "edge" },
        });
        config.VirtualHosts.Add(wildcard);
        return config;
    }
}
