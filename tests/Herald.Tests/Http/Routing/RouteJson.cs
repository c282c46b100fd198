using Envoy.Config.Route.V3;
using Google.Protobuf;
using Herald.Proxy.Config;
using Herald.Proxy.Http.Routing;
using Xunit;

namespace Herald.Tests.Http.Routing;

/// <summary>Builds route tables from Envoy JSON, the way a control plane would write them.</summary>
internal static class RouteJson
{
    public static RouteConfiguration Parse(string json) => JsonParser.Default.Parse<RouteConfiguration>(json);

    public static RouteTable Table(string json) => RouteTable.Translate(Parse(json), "rc");

    /// <summary>One virtual host for any domain with the given routes (a JSON array body).</summary>
    public static RouteTable Routes(string routes) =>
        Table($$"""{"name":"r","virtual_hosts":[{"name":"vh","domains":["*"],"routes":[{{routes}}]}]}""");

    public static ConfigException Rejected(string json) =>
        Assert.Throws<ConfigException>(() => Table(json));

    public static ConfigException RejectedRoutes(string routes) =>
        Assert.Throws<ConfigException>(() => Routes(routes));
}
