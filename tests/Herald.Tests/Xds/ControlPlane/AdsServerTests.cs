using Envoy.Config.Core.V3;
using Envoy.Config.Endpoint.V3;
using Envoy.Service.Discovery.V3;
using Herald.Tests.TestSupport;
using Herald.Xds;
using Herald.Xds.ControlPlane;
using Herald.Xds.Streams;
using Xunit;

namespace Herald.Tests.Xds.ControlPlane;

public sealed class AdsServerTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly ManualTimeProvider _time = new();
    private readonly ServiceRegistry _registry;
    private readonly AdsServer _server;
    private readonly CancellationTokenSource _cts = new();

    public AdsServerTests()
    {
        _registry = new ServiceRegistry(_time);
        _registry.Register("greeter", "10.0.0.1", 50051, new Dictionary<string, string> { ["track"] = "stable" }, "1.2.0");
        _server = new AdsServer(() => MeshConfigLoader.Load(MeshConfigLoaderTests.Sample), _registry, _time);
    }

    public void Dispose()
    {
        _cts.Cancel();
        _server.Dispose();
        _registry.Dispose();
        _cts.Dispose();
    }

    private static Node FrontendNode() => new() { Id = "frontend-1", Cluster = "frontend" };

    private IMessageStream<DiscoveryResponse, DiscoveryRequest> OpenSotw()
    {
        var (client, server) = InMemoryStreams.CreatePair<DiscoveryRequest, DiscoveryResponse>();
        _ = _server.HandleStateOfTheWorldAsync(server, _cts.Token);
        return client;
    }

    private static async Task<DiscoveryResponse> Next(IMessageStream<DiscoveryResponse, DiscoveryRequest> client) =>
        (await client.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Wait))!;

    private static async Task AssertSilent<T>(IMessageStream<T, DiscoveryRequest> client)
        where T : class
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await client.ReadAsync(cts.Token));
    }

    private static DiscoveryRequest Request(string typeUrl, DiscoveryResponse? ackOf = null, params string[] names)
    {
        var request = new DiscoveryRequest { TypeUrl = typeUrl, VersionInfo = ackOf?.VersionInfo ?? string.Empty, ResponseNonce = ackOf?.Nonce ?? string.Empty };
        request.ResourceNames.AddRange(names);
        return request;
    }

    private async Task ChangeRegistry(Action change)
    {
        var generation = _server.Generation;
        change();
        await ServiceRegistryTests.WaitUntil(() => _time.ActiveTimers > 0);
        _time.Advance(AdsServer.Debounce);
        await ServiceRegistryTests.WaitUntil(() => _server.Generation > generation);
    }

    [Fact]
    public async Task Sotw_WildcardCds_SendsAllClustersAndAckIsSilent()
    {
        var client = OpenSotw();
        var first = Request(XdsTypeUrls.Cluster);
        first.Node = FrontendNode();
        await client.WriteAsync(first, CancellationToken.None);

        var response = await Next(client);
        Assert.Equal(XdsTypeUrls.Cluster, response.TypeUrl);
        Assert.Contains(response.Resources, r => r.Unpack<Envoy.Config.Cluster.V3.Cluster>().Name == "outbound|50051||greeter");
        Assert.Equal(_server.SnapshotFor(NodeRole.Of(FrontendNode())).Clusters.Version, response.VersionInfo);

        await client.WriteAsync(Request(XdsTypeUrls.Cluster, response), CancellationToken.None);
        await AssertSilent(client);
        await ServiceRegistryTests.WaitUntil(() => _server.Proxies.Single().AckedVersions.GetValueOrDefault(XdsTypeUrls.Cluster) == response.VersionInfo);
        Assert.Equal("frontend-1", _server.Proxies.Single().NodeId);
    }

    [Fact]
    public async Task Sotw_NamedEds_OnlyRequestedNamesAndPushOnChange()
    {
        var client = OpenSotw();
        var first = Request(XdsTypeUrls.ClusterLoadAssignment, null, "outbound|50051|v1|greeter");
        first.Node = FrontendNode();
        await client.WriteAsync(first, CancellationToken.None);

        var response = await Next(client);
        var assignment = Assert.Single(response.Resources).Unpack<ClusterLoadAssignment>();
        Assert.Equal("outbound|50051|v1|greeter", assignment.ClusterName);
        await client.WriteAsync(Request(XdsTypeUrls.ClusterLoadAssignment, response, "outbound|50051|v1|greeter"), CancellationToken.None);

        // A change to another subset's endpoints is not this subscription's business.
        await ChangeRegistry(() => _registry.Register("greeter", "10.0.0.9", 50051, new Dictionary<string, string> { ["track"] = "canary" }));
        await AssertSilent(client);

        await ChangeRegistry(() => _registry.Register("greeter", "10.0.0.2", 50051, new Dictionary<string, string> { ["track"] = "stable" }));
        var pushed = await Next(client);
        Assert.Equal(2, Assert.Single(pushed.Resources).Unpack<ClusterLoadAssignment>().Endpoints.Sum(e => e.LbEndpoints.Count));
        Assert.NotEqual(response.VersionInfo, pushed.VersionInfo);
    }

    [Fact]
    public async Task Sotw_Nack_HoldsUntilConfigChangesAndIsReported()
    {
        var client = OpenSotw();
        var first = Request(XdsTypeUrls.ClusterLoadAssignment, null, "outbound|50051||greeter");
        first.Node = FrontendNode();
        await client.WriteAsync(first, CancellationToken.None);
        var response = await Next(client);

        var nack = Request(XdsTypeUrls.ClusterLoadAssignment, response, "outbound|50051||greeter");
        nack.VersionInfo = string.Empty;
        nack.ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "endpoint 0 is bad" };
        await client.WriteAsync(nack, CancellationToken.None);
        await AssertSilent(client);
        await ServiceRegistryTests.WaitUntil(() => _server.Proxies.Single().LastNack is not null);
        Assert.Equal("endpoint 0 is bad", _server.Proxies.Single().LastNack!.Message);
        Assert.Equal(response.VersionInfo, _server.Proxies.Single().LastNack!.Version);

        // A re-request of the same names does not bring the rejected version back.
        await client.WriteAsync(Request(XdsTypeUrls.ClusterLoadAssignment, null, "outbound|50051||greeter"), CancellationToken.None);
        await AssertSilent(client);

        await ChangeRegistry(() => _registry.Register("greeter", "10.0.0.2", 50051));
        var next = await Next(client);
        Assert.NotEqual(response.VersionInfo, next.VersionInfo);
    }

    [Fact]
    public async Task Sotw_RequestedNameAppearsLater_IsSent()
    {
        var client = OpenSotw();
        var first = Request(XdsTypeUrls.RouteConfiguration, null, "outbound|9000");
        first.Node = FrontendNode();
        await client.WriteAsync(first, CancellationToken.None);
        await AssertSilent(client);

        const string yaml = "services:\n  - name: late\n    ports: [{port: 9000}]\n";
        var generation = _server.Generation;
        _server.UpdateMesh(MeshConfigLoader.Load(yaml));
        _time.Advance(AdsServer.Debounce);
        await ServiceRegistryTests.WaitUntil(() => _server.Generation > generation);

        var response = await Next(client);
        Assert.Equal("outbound|9000", Assert.Single(response.Resources).Unpack<Envoy.Config.Route.V3.RouteConfiguration>().Name);
    }

    [Fact]
    public async Task Sotw_StaleNonce_IsIgnored()
    {
        var client = OpenSotw();
        var first = Request(XdsTypeUrls.Listener);
        first.Node = FrontendNode();
        await client.WriteAsync(first, CancellationToken.None);
        var response = await Next(client);

        var stale = Request(XdsTypeUrls.Listener, response);
        stale.ResponseNonce = "not-a-nonce";
        stale.ErrorDetail = new Google.Rpc.Status { Message = "stale" };
        await client.WriteAsync(stale, CancellationToken.None);
        await AssertSilent(client);
        Assert.Null(_server.Proxies.Single().LastNack);
    }

    [Fact]
    public async Task Delta_Subscribe_AddsThenRemovesOnDeregister()
    {
        var (client, server) = InMemoryStreams.CreatePair<DeltaDiscoveryRequest, DeltaDiscoveryResponse>();
        _ = _server.HandleDeltaAsync(server, _cts.Token);
        var id = _registry.ListInstances("greeter").Single().Id;
        var first = new DeltaDiscoveryRequest { Node = FrontendNode(), TypeUrl = XdsTypeUrls.Cluster };
        await client.WriteAsync(first, CancellationToken.None);

        var response = (await client.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Wait))!;
        Assert.Contains(response.Resources, r => r.Name == "outbound|50051||greeter" && r.Version.Length > 0);
        Assert.Empty(response.RemovedResources);
        await client.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypeUrls.Cluster, ResponseNonce = response.Nonce }, CancellationToken.None);

        // Named EDS, with one resource already held at its current version.
        var current = _server.SnapshotFor(NodeRole.Of(FrontendNode())).Endpoints.Resources;
        var eds = new DeltaDiscoveryRequest { TypeUrl = XdsTypeUrls.ClusterLoadAssignment };
        eds.ResourceNamesSubscribe.Add("outbound|50051||greeter");
        eds.ResourceNamesSubscribe.Add("outbound|50051|v1|greeter");
        eds.InitialResourceVersions["outbound|50051|v1|greeter"] = current["outbound|50051|v1|greeter"].Version;
        await client.WriteAsync(eds, CancellationToken.None);
        var edsResponse = (await client.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Wait))!;
        Assert.Equal(["outbound|50051||greeter"], edsResponse.Resources.Select(r => r.Name));
        await client.WriteAsync(new DeltaDiscoveryRequest { TypeUrl = XdsTypeUrls.ClusterLoadAssignment, ResponseNonce = edsResponse.Nonce }, CancellationToken.None);

        await ChangeRegistry(() => _registry.Deregister(id));
        var update = (await client.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Wait))!;
        Assert.Equal(XdsTypeUrls.ClusterLoadAssignment, update.TypeUrl);
        Assert.Equal(2, update.Resources.Count);
        Assert.All(update.Resources, r => Assert.Empty(r.Resource_.Unpack<ClusterLoadAssignment>().Endpoints));

        // A mesh without greeter removes its clusters.
        var generation = _server.Generation;
        _server.UpdateMesh(MeshConfigLoader.Load("services:\n  - name: web\n    ports: [{port: 8080}]\n"));
        _time.Advance(AdsServer.Debounce);
        await ServiceRegistryTests.WaitUntil(() => _server.Generation > generation);
        var removal = (await client.ReadAsync(CancellationToken.None).AsTask().WaitAsync(Wait))!;
        Assert.Equal(XdsTypeUrls.Cluster, removal.TypeUrl);
        Assert.Contains("outbound|50051||greeter", removal.RemovedResources);
    }

    [Fact]
    public void Sotw_TwoServersSameState_AgreeOnVersions()
    {
        using var other = new AdsServer(() => MeshConfigLoader.Load(MeshConfigLoaderTests.Sample), _registry, _time);
        var role = NodeRole.Of(FrontendNode());
        Assert.Equal(_server.SnapshotFor(role).Listeners.Version, other.SnapshotFor(role).Listeners.Version);
        Assert.Equal(_server.SnapshotFor(role).Endpoints.Version, other.SnapshotFor(role).Endpoints.Version);
    }
}
