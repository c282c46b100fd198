using System.Text.Json;
using Herald.Proxy.Admin;
using Xunit;

namespace Herald.Tests.Admin;

public sealed class ClustersRendererTests
{
    private static readonly ClusterView[] Clusters =
    [
        new("web", [new EndpointView("10.0.0.2:8080", 1, 0, 4, Healthy: false)]),
        new("api", [new EndpointView("10.0.0.1:80", 3, 2, 17, Healthy: true) { ActiveConnections = 5 }]),
    ];

    [Fact]
    public void RenderText_WritesEnvoyLinesPerEndpoint()
    {
        var text = ClustersRenderer.RenderText(Clusters);

        Assert.Equal(
            "api::observability_name::api\n" +
            "api::10.0.0.1:80::cx_active::5\n" +
            "api::10.0.0.1:80::rq_active::2\n" +
            "api::10.0.0.1:80::rq_total::17\n" +
            "api::10.0.0.1:80::health_flags::healthy\n" +
            "api::10.0.0.1:80::weight::3\n" +
            "web::observability_name::web\n" +
            "web::10.0.0.2:8080::cx_active::0\n" +
            "web::10.0.0.2:8080::rq_active::0\n" +
            "web::10.0.0.2:8080::rq_total::4\n" +
            "web::10.0.0.2:8080::health_flags::/failed_active_hc\n" +
            "web::10.0.0.2:8080::weight::1\n",
            text);
    }

    [Fact]
    public void RenderJson_SplitsAddressAndReportsHealth()
    {
        using var document = JsonDocument.Parse(ClustersRenderer.RenderJson(Clusters));

        var api = document.RootElement.GetProperty("cluster_statuses")[0];
        Assert.Equal("api", api.GetProperty("name").GetString());
        var host = api.GetProperty("host_statuses")[0];
        Assert.Equal("10.0.0.1", host.GetProperty("address").GetProperty("socket_address").GetProperty("address").GetString());
        Assert.Equal(80, host.GetProperty("address").GetProperty("socket_address").GetProperty("port_value").GetInt32());
        Assert.Equal("HEALTHY", host.GetProperty("health_status").GetProperty("eds_health_status").GetString());
        Assert.Equal(3, host.GetProperty("weight").GetInt32());
    }
}
