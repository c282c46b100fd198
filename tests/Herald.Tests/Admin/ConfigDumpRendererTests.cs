using System.Text;
using System.Text.Json;
using Envoy.Config.Bootstrap.V3;
using Envoy.Config.Cluster.V3;
using Envoy.Config.Listener.V3;
using Envoy.Config.Route.V3;
using Envoy.Extensions.AccessLoggers.File.V3;
using Envoy.Extensions.Filters.Network.HttpConnectionManager.V3;
using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Admin;
using Xunit;
using AccessLogConfig = Envoy.Config.Accesslog.V3.AccessLog;
using RouterConfig = Envoy.Extensions.Filters.Http.Router.V3.Router;

namespace Herald.Tests.Admin;

public sealed class ConfigDumpRendererTests
{
    internal static ConfigDumpView SampleView()
    {
        var hcm = new HttpConnectionManager
        {
            StatPrefix = "ingress_http",
            RouteConfig = new RouteConfiguration { Name = "local_route" },
            HttpFilters = { new HttpFilter { Name = "envoy.filters.http.router", TypedConfig = Any.Pack(new RouterConfig()) } },
            AccessLog =
            {
                new AccessLogConfig { Name = "envoy.access_loggers.file", TypedConfig = Any.Pack(new FileAccessLog { Path = "/dev/stdout" }) },
            },
        };
        var listener = new Listener
        {
            Name = "listener_0",
            FilterChains =
            {
                new FilterChain { Filters = { new Envoy.Config.Listener.V3.Filter { Name = "envoy.filters.network.http_connection_manager", TypedConfig = Any.Pack(hcm) } } },
            },
        };
        var cluster = new Cluster { Name = "backend" };
        var routes = new RouteConfiguration { Name = "static_routes" };
        var bootstrap = new Bootstrap
        {
            StaticResources = new Bootstrap.Types.StaticResources { Listeners = { listener }, Clusters = { cluster } },
        };
        return new ConfigDumpView(bootstrap, [listener], [cluster], [routes], new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
    }

    [Fact]
    public void Render_StaticConfig_IsValidJsonWithEnvoyDumpsInOrder()
    {
        var json = Encoding.UTF8.GetString(ConfigDumpRenderer.Render(SampleView()));

        using var document = JsonDocument.Parse(json);
        var configs = document.RootElement.GetProperty("configs");
        Assert.Equal(4, configs.GetArrayLength());
        Assert.Equal("type.googleapis.com/envoy.admin.v3.BootstrapConfigDump", configs[0].GetProperty("@type").GetString());
        Assert.Equal("type.googleapis.com/envoy.admin.v3.ClustersConfigDump", configs[1].GetProperty("@type").GetString());
        Assert.Equal("type.googleapis.com/envoy.admin.v3.ListenersConfigDump", configs[2].GetProperty("@type").GetString());
        Assert.Equal("type.googleapis.com/envoy.admin.v3.RoutesConfigDump", configs[3].GetProperty("@type").GetString());
        Assert.Contains("\"@type\": \"type.googleapis.com/envoy.admin.v3.BootstrapConfigDump\"", json, StringComparison.Ordinal);
        Assert.Equal("2026-01-02T03:04:05Z", configs[0].GetProperty("last_updated").GetString());
        Assert.StartsWith("{\n \"configs\": [\n  {\n   \"@type\": ", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_HttpConnectionManagerTypedConfig_IsRenderedWithItsFields()
    {
        var json = Encoding.UTF8.GetString(ConfigDumpRenderer.Render(SampleView()));

        using var document = JsonDocument.Parse(json);
        var listener = document.RootElement.GetProperty("configs")[2].GetProperty("static_listeners")[0].GetProperty("listener");
        Assert.Equal("type.googleapis.com/envoy.config.listener.v3.Listener", listener.GetProperty("@type").GetString());
        var hcm = listener.GetProperty("filter_chains")[0].GetProperty("filters")[0].GetProperty("typed_config");
        Assert.Equal(
            "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            hcm.GetProperty("@type").GetString());
        Assert.Equal("ingress_http", hcm.GetProperty("stat_prefix").GetString());
        Assert.Equal(
            "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
            hcm.GetProperty("http_filters")[0].GetProperty("typed_config").GetProperty("@type").GetString());
        Assert.Equal("/dev/stdout", hcm.GetProperty("access_log")[0].GetProperty("typed_config").GetProperty("path").GetString());

        var bootstrap = document.RootElement.GetProperty("configs")[0].GetProperty("bootstrap");
        Assert.Equal("backend", bootstrap.GetProperty("static_resources").GetProperty("clusters")[0].GetProperty("name").GetString());
        var cluster = document.RootElement.GetProperty("configs")[1].GetProperty("static_clusters")[0].GetProperty("cluster");
        Assert.Equal("backend", cluster.GetProperty("name").GetString());
        var route = document.RootElement.GetProperty("configs")[3].GetProperty("static_route_configs")[0].GetProperty("route_config");
        Assert.Equal("static_routes", route.GetProperty("name").GetString());
    }
}
