using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Herald.Xds.ControlPlane;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class RegistryApiTests : IAsyncLifetime
{
    private readonly ServiceRegistry _registry = new(TimeProvider.System);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(20) };
    private AdsServer? _ads;
    private RegistryApi? _api;

    public async Task InitializeAsync()
    {
        _ads = new AdsServer(() => MeshConfig.Empty, _registry, TimeProvider.System);
        _api = await RegistryApi.StartAsync(new IPEndPoint(IPAddress.Loopback, 0), _registry, _ads, CancellationToken.None);
        _http.BaseAddress = new Uri($"http://127.0.0.1:{_api.BoundAddress.Port}");
    }

    public async Task DisposeAsync()
    {
        await _api!.DisposeAsync();
        _ads!.Dispose();
        _registry.Dispose();
        _http.Dispose();
    }

    private Task<HttpResponseMessage> Put(string path, string json) =>
        _http.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    [Fact]
    public async Task Register_ThenListHeartbeatDeregister_RoundTrips()
    {
        var response = await Put("/v1/registry/instances", """{"service":"greeter","address":"127.0.0.1","port":50051,"labels":{"track":"stable"},"version":"1.2.0","ttl_seconds":30}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

        var services = await _http.GetFromJsonAsync<JsonElement>("/v1/registry/services");
        Assert.Equal("greeter", services[0].GetProperty("name").GetString());

        var service = await _http.GetFromJsonAsync<JsonElement>("/v1/registry/services/greeter");
        var instance = service.GetProperty("instances")[0];
        Assert.Equal(id, instance.GetProperty("id").GetString());
        Assert.Equal("stable", instance.GetProperty("labels").GetProperty("track").GetString());

        Assert.Equal(HttpStatusCode.OK, (await _http.PutAsync($"/v1/registry/instances/{id}/heartbeat", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _http.DeleteAsync($"/v1/registry/instances/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.PutAsync($"/v1/registry/instances/{id}/heartbeat", null)).StatusCode);
    }

    [Theory]
    [InlineData("""{"service":"a","address":"not-an-ip","port":80}""", "address")]
    [InlineData("""{"service":"a","address":"10.0.0.1","port":"80"}""", "port")]
    [InlineData("""{"service":"a","address":"10.0.0.1","port":80,"ttl_seconds":-1}""", "ttl_seconds")]
    [InlineData("""{"address":"10.0.0.1","port":80}""", "service")]
    [InlineData("""{"service":"a","address":"10.0.0.1","port":80,"colour":"red"}""", "colour")]
    [InlineData("""{"service":"a",""", "JSON")]
    public async Task Register_BadBody_400NamingField(string body, string field)
    {
        var response = await Put("/v1/registry/instances", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString()!;
        Assert.Contains(field, error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Watch_BlocksUntilRegistration()
    {
        var first = await _http.GetAsync("/v1/registry/services/greeter");
        var index = long.Parse(first.Headers.GetValues("X-Herald-Index").Single(), System.Globalization.CultureInfo.InvariantCulture);

        var watch = _http.GetFromJsonAsync<JsonElement>($"/v1/registry/services/greeter?index={index}&wait=15s");
        await Task.Delay(100);
        Assert.False(watch.IsCompleted);
        _registry.Register("greeter", "10.0.0.1", 80);

        var result = await watch.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(result.GetProperty("index").GetInt64() > index);
        Assert.Equal(1, result.GetProperty("instances").GetArrayLength());
    }

    [Fact]
    public async Task Watch_ShortWait_ReturnsUnchanged()
    {
        var index = _registry.Index;
        var result = await _http.GetFromJsonAsync<JsonElement>($"/v1/registry/services/greeter?index={index}&wait=50ms");
        Assert.Equal(index, result.GetProperty("index").GetInt64());
    }

    [Fact]
    public async Task Proxies_ConnectedStream_IsListed()
    {
        var (client, server) = Herald.Xds.Streams.InMemoryStreams.CreatePair<Envoy.Service.Discovery.V3.DiscoveryRequest, Envoy.Service.Discovery.V3.DiscoveryResponse>();
        using var cts = new CancellationTokenSource();
        var serving = _ads!.HandleStateOfTheWorldAsync(server, cts.Token);
        await client.WriteAsync(new Envoy.Service.Discovery.V3.DiscoveryRequest { Node = new Envoy.Config.Core.V3.Node { Id = "sidecar-7" }, TypeUrl = Herald.Xds.XdsTypeUrls.Cluster }, CancellationToken.None);
        await ServiceRegistryTests.WaitUntil(() => _ads.Proxies.Count == 1);

        var proxies = await _http.GetFromJsonAsync<JsonElement>("/v1/proxies");
        Assert.Equal("sidecar-7", proxies[0].GetProperty("node_id").GetString());
        await cts.CancelAsync();
        await serving;
    }
}
