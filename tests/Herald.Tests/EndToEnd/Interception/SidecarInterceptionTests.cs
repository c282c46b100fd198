using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// Issue #4, end to end: applications dial each other's pod addresses unchanged, interception
/// rules hand the connections to Herald sidecars configured over xDS by Herald's control plane,
/// and every protocol arrives intact, mesh to mesh (A -> B), from outside the mesh (C -> B) and
/// out of it (A -> C), without a connection ever looping back into a sidecar. The mesh is
/// started once for the class (<see cref="PodMesh"/>); the tests run one after another, so
/// the differences of counters taken around one exchange belong to that exchange.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class SidecarInterceptionTests : IClassFixture<PodMesh>
{
    private const string SourceWorkloadHeader = "x-herald-source-workload";
    private const string DestinationServiceHeader = "x-herald-destination-service";
    private const string InboundSource = "127.0.0.6";
    private const string OutboundListener = "virtualOutbound";
    private const string InboundListener = "virtualInbound";
    private const int TcpPayloadBytes = 64 * 1024;
    private const string Passthrough = "cluster.PassthroughCluster.upstream_cx_total";
    private const string PassthroughRequests = "cluster.PassthroughCluster.upstream_rq_total";

    private static readonly TimeSpan BannerBound = TimeSpan.FromSeconds(3);

    private readonly PodMesh _mesh;

    public SidecarInterceptionTests(PodMesh mesh) => _mesh = mesh;

    private PodNetwork Network => _mesh.Network;

    [Fact]
    public async Task H2c_ServiceScaledToZero_HeldByTheInterceptingSidecarUntilAnInstanceRegisters()
    {
        // Issue #5 through interception: the application dials an address nobody has, by the
        // service's name (Host); A's sidecar holds the request, reports demand to the control
        // plane, and sends it the moment an instance of "cold" (C's server) is registered.
        var held = "cluster.outbound|8081||cold.activation.held";
        var address = Network.Hub.Address.GetAddressBytes();
        address[3] = 99;
        var nowhere = new System.Net.IPAddress(address);
        var request = PodClients.HttpAsync(Network, _mesh.A, $"http://{nowhere}:8081/cold-start", "--http2-prior-knowledge", "-H", "host: cold");

        Assert.Equal(1, await _mesh.SidecarA.WaitForStatAsync(held, v => v == 1));

        // The sidecar counts the request held before its demand report reaches the control plane.
        var demand = await Network.CurlAsync(Network.Hub, $"http://{Network.Hub.Address}:{PodMesh.ApiPort}/v1/demand");
        var demandDeadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!demand.Stdout.Contains("\"cluster\":\"outbound|8081||cold\"", StringComparison.Ordinal) && DateTime.UtcNow < demandDeadline)
        {
            await Task.Delay(50);
            demand = await Network.CurlAsync(Network.Hub, $"http://{Network.Hub.Address}:{PodMesh.ApiPort}/v1/demand");
        }

        Assert.Contains("\"cluster\":\"outbound|8081||cold\"", demand.Stdout, StringComparison.Ordinal);
        Assert.False(request.IsCompleted, "the request was answered before any instance of cold existed");

        await _mesh.RegisterAsync("cold", _mesh.C, 8081);
        var response = await request;

        Assert.True(response.Status == 200, $"{response}\n{_mesh.Transcripts()}");
        Assert.Equal("2", response.HttpVersion);
        Assert.Equal("c", response.Request.GetProperty("server").GetString());
        Assert.Equal("a", response.Header(SourceWorkloadHeader));
        Assert.Equal(0, await _mesh.SidecarA.StatAsync(held));
        Assert.Equal(1, await _mesh.SidecarA.StatAsync("cluster.outbound|8081||cold.activation.released"));
    }

    [Fact]
    public async Task Http1_MeshToMesh_ReachesBThroughBothSidecars()
    {
        var outbound = OutboundCluster(PodServer.Http1Port, "upstream_rq_total");
        var inbound = InboundCluster(PodServer.Http1Port, "upstream_rq_total");
        var outboundBefore = await _mesh.SidecarA.StatAsync(outbound);
        var inboundBefore = await _mesh.SidecarB.StatAsync(inbound);
        var path = UniquePath("a-to-b");

        var response = await PodClients.HttpAsync(Network, _mesh.A, $"http://{_mesh.B.Address}:{PodServer.Http1Port}{path}");

        Assert.True(response.Status == 200, $"{response}\n{_mesh.Transcripts()}");
        Assert.Equal("1.1", response.HttpVersion);
        Assert.Equal(path, response.Path);
        Assert.Equal($"{_mesh.B.Address}:{PodServer.Http1Port}", response.Header("host"));
        Assert.Equal("a", response.Header(SourceWorkloadHeader));
        Assert.Equal("b", response.Header(DestinationServiceHeader));
        Assert.Equal(InboundSource, response.RemoteAddress);
        Assert.Equal(outboundBefore + 1, await _mesh.SidecarA.WaitForStatAsync(outbound, v => v > outboundBefore));
        Assert.Equal(inboundBefore + 1, await _mesh.SidecarB.WaitForStatAsync(inbound, v => v > inboundBefore));
        Assert.Equal(1, await _mesh.ServerB.WaitForLinesAsync(path, 1));
    }

    [Fact]
    public async Task H2c_MeshToMesh_AnswersOverHttp2()
    {
        var path = UniquePath("h2c");

        var response = await PodClients.HttpAsync(Network, _mesh.A, $"http://{_mesh.B.Address}:{PodServer.H2cPort}{path}", "--http2-prior-knowledge");

        Assert.True(response.Status == 200, $"{response}\n{_mesh.Transcripts()}");
        Assert.Equal("2", response.HttpVersion);
        Assert.Equal("2.0", response.Request.GetProperty("httpVersion").GetString());
        Assert.Equal(path, response.Path);
        Assert.Equal("a", response.Header(SourceWorkloadHeader));
        Assert.Equal("b", response.Header(DestinationServiceHeader));
        Assert.Equal(InboundSource, response.RemoteAddress);
    }

    [Fact]
    public async Task Grpc_MeshToMesh_EveryCallKindEchoes()
    {
        var result = await PodClients.GrpcAsync(Network, _mesh.A, _mesh.B.Address, PodServer.GrpcPort);

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, $"{string.Join("\n", result.Problems)}\n{result}\n{_mesh.Transcripts()}");
        var unary = result.Result.GetProperty("unary");
        Assert.Equal(0, unary.GetProperty("code").GetInt32());
        Assert.Equal("hello", unary.GetProperty("replies")[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task WebSocket_MeshToMesh_EchoesMessages()
    {
        var path = UniquePath("ws");

        var result = await PodClients.WebSocketAsync(Network, _mesh.A, _mesh.B.Address, PodServer.WebSocketPort, path);

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, $"{string.Join("\n", result.Problems)}\n{result}\n{_mesh.Transcripts()}");
        var saw = result.Result.GetProperty("serverSaw");
        Assert.Equal(path, saw.GetProperty("url").GetString());
        Assert.Equal("a", saw.GetProperty("headers").GetProperty(SourceWorkloadHeader).GetString());
        Assert.Equal("b", saw.GetProperty("headers").GetProperty(DestinationServiceHeader).GetString());
    }

    [Fact]
    public async Task Tcp_MeshToMesh_EchoesEveryByte()
    {
        var connections = OutboundCluster(PodServer.TcpEchoPort, "upstream_cx_total");
        var before = await _mesh.SidecarA.StatAsync(connections);
        var accepted = $"accept {PodServer.TcpEchoPort} from {InboundSource}";
        var acceptedBefore = _mesh.ServerB.CountLines(accepted);

        var result = await PodClients.TcpAsync(Network, _mesh.A, _mesh.B.Address, PodServer.TcpEchoPort, TcpPayloadBytes);

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, $"{string.Join("\n", result.Problems)}\n{result}\n{_mesh.Transcripts()}");
        Assert.Equal(TcpPayloadBytes, result.Result.GetProperty("received").GetInt32());
        Assert.True(result.Result.GetProperty("echoOk").GetBoolean());
        Assert.Equal(before + 1, await _mesh.SidecarA.WaitForStatAsync(connections, v => v > before));
        Assert.Equal(acceptedBefore + 1, await _mesh.ServerB.WaitForLinesAsync(accepted, acceptedBefore + 1));
    }

    [Fact]
    public async Task ServerFirst_MeshToMesh_BannerArrivesBeforeTheClientSpeaks()
    {
        var result = await PodClients.TcpAsync(Network, _mesh.A, _mesh.B.Address, PodServer.ServerFirstPort, 4096, banner: "220 ");

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, $"{string.Join("\n", result.Problems)}\n{result}\n{_mesh.Transcripts()}");
        Assert.Equal("220 b ready", result.Result.GetProperty("banner").GetString());
        var bannerMs = result.Result.GetProperty("bannerMs").GetInt32();
        Assert.True(bannerMs < BannerBound.TotalMilliseconds, $"the banner took {bannerMs} ms (bound {BannerBound.TotalMilliseconds} ms): a sidecar waited for the client");
        Assert.True(result.Result.GetProperty("echoOk").GetBoolean());
    }

    [Fact]
    public async Task Http1_NonMeshToMesh_GetsDestinationHeaderOnly()
    {
        var inbound = InboundCluster(PodServer.Http1Port, "upstream_rq_total");
        var inboundBefore = await _mesh.SidecarB.StatAsync(inbound);
        var path = UniquePath("c-to-b");

        var response = await PodClients.HttpAsync(Network, _mesh.C, $"http://{_mesh.B.Address}:{PodServer.Http1Port}{path}");

        Assert.True(response.Status == 200, $"{response}\n{_mesh.Transcripts()}");
        Assert.Equal(path, response.Path);
        Assert.Equal("b", response.Header(DestinationServiceHeader));
        Assert.Null(response.Header(SourceWorkloadHeader));
        Assert.Equal(InboundSource, response.RemoteAddress);
        Assert.Equal(inboundBefore + 1, await _mesh.SidecarB.WaitForStatAsync(inbound, v => v > inboundBefore));
    }

    [Fact]
    public async Task Http1_MeshToNonMesh_PassesThrough()
    {
        // An HTTP chain's route to the passthrough counts a request; a TCP chain counts a connection.
        var before = await PassthroughCountsAsync();
        var path = UniquePath("a-to-c");

        var response = await PodClients.HttpAsync(Network, _mesh.A, $"http://{_mesh.C.Address}:{PodServer.Http1Port}{path}");

        Assert.True(response.Status == 200, $"{response}\n{_mesh.Transcripts()}");
        Assert.Equal(path, response.Path);
        Assert.Equal("c", response.Request.GetProperty("server").GetString());
        Assert.Equal(_mesh.A.Address.ToString(), response.RemoteAddress);
        Assert.Null(response.Header(DestinationServiceHeader));
        Assert.Equal(1, await _mesh.ServerC.WaitForLinesAsync(path, 1));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        var after = await PassthroughCountsAsync();
        while (after == before && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
            after = await PassthroughCountsAsync();
        }

        Assert.True(
            after.Connections > before.Connections || after.Requests > before.Requests,
            $"A's PassthroughCluster counted nothing: {Passthrough} {before.Connections} -> {after.Connections}, {PassthroughRequests} {before.Requests} -> {after.Requests}");
    }

    [Fact]
    public async Task Tcp_MeshToNonMesh_PassesThrough()
    {
        var before = await _mesh.SidecarA.StatAsync(Passthrough);

        var result = await PodClients.TcpAsync(Network, _mesh.A, _mesh.C.Address, PodServer.TcpEchoPort, TcpPayloadBytes);

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, $"{string.Join("\n", result.Problems)}\n{result}\n{_mesh.Transcripts()}");
        Assert.True(result.Result.GetProperty("echoOk").GetBoolean());
        Assert.Equal(before + 1, await _mesh.SidecarA.WaitForStatAsync(Passthrough, v => v > before));
    }

    [Fact]
    public async Task Http1_OneRequest_EachSidecarAcceptsItOnceAndTheAppSeesItOnce()
    {
        var pooled = OutboundCluster(PodServer.Http1Port, "upstream_cx_total");
        var outboundBefore = await _mesh.SidecarA.ListenerConnectionsAsync(OutboundListener);
        var inboundBefore = await _mesh.SidecarB.ListenerConnectionsAsync(InboundListener);
        var openedBefore = await _mesh.SidecarA.StatAsync(pooled);
        var path = UniquePath("once");

        var response = await PodClients.HttpAsync(Network, _mesh.A, $"http://{_mesh.B.Address}:{PodServer.Http1Port}{path}");

        Assert.True(response.Status == 200, $"{response}\n{_mesh.Transcripts()}");
        // curl made one connection; A's sidecar opened at most one to B (it may reuse a pooled one),
        // and B's sidecar accepted exactly what A's opened: a connection redirected back into a
        // sidecar would be counted a second time.
        var outbound = await _mesh.SidecarA.WaitForListenerConnectionsAsync(OutboundListener, outboundBefore.Count + 1);
        var opened = await _mesh.SidecarA.StatAsync(pooled) - openedBefore;
        var inbound = await _mesh.SidecarB.WaitForListenerConnectionsAsync(InboundListener, inboundBefore.Count + opened);
        var counts = $"A {OutboundListener}: {outboundBefore.Source} -> {outbound.Source}; A opened {opened} to B; B {InboundListener}: {inboundBefore.Source} -> {inbound.Source}";
        Assert.True(outbound.Count - outboundBefore.Count == 1, counts);
        Assert.True(opened is 0 or 1, counts);
        Assert.True(inbound.Count - inboundBefore.Count == opened, counts);
        Assert.Equal(1, await _mesh.ServerB.WaitForLinesAsync(path, 1));
    }

    [Fact]
    public async Task Tcp_OneConnection_EachSidecarAcceptsItOnceAndTheAppOnce()
    {
        var accepted = $"accept {PodServer.TcpEchoPort} from";
        var outboundBefore = await _mesh.SidecarA.ListenerConnectionsAsync(OutboundListener);
        var inboundBefore = await _mesh.SidecarB.ListenerConnectionsAsync(InboundListener);
        var upstreamA = OutboundCluster(PodServer.TcpEchoPort, "upstream_cx_total");
        var upstreamB = InboundCluster(PodServer.TcpEchoPort, "upstream_cx_total");
        var upstreamABefore = await _mesh.SidecarA.StatAsync(upstreamA);
        var upstreamBBefore = await _mesh.SidecarB.StatAsync(upstreamB);
        var acceptedBefore = _mesh.ServerB.CountLines(accepted);

        var result = await PodClients.TcpAsync(Network, _mesh.A, _mesh.B.Address, PodServer.TcpEchoPort, 1024);

        Assert.True(result.Process.ExitCode == 0 && result.Problems.Count == 0, $"{string.Join("\n", result.Problems)}\n{result}\n{_mesh.Transcripts()}");
        var outbound = await _mesh.SidecarA.WaitForListenerConnectionsAsync(OutboundListener, outboundBefore.Count + 1);
        var inbound = await _mesh.SidecarB.WaitForListenerConnectionsAsync(InboundListener, inboundBefore.Count + 1);
        var counts = $"A {OutboundListener}: {outboundBefore.Source} -> {outbound.Source}; B {InboundListener}: {inboundBefore.Source} -> {inbound.Source}";
        Assert.True(outbound.Count - outboundBefore.Count == 1, counts);
        Assert.True(inbound.Count - inboundBefore.Count == 1, counts);
        Assert.Equal(upstreamABefore + 1, await _mesh.SidecarA.WaitForStatAsync(upstreamA, v => v > upstreamABefore));
        Assert.Equal(upstreamBBefore + 1, await _mesh.SidecarB.WaitForStatAsync(upstreamB, v => v > upstreamBBefore));
        Assert.Equal(acceptedBefore + 1, await _mesh.ServerB.WaitForLinesAsync(accepted, acceptedBefore + 1));
    }

    private async Task<(long Connections, long Requests)> PassthroughCountsAsync() =>
        (await _mesh.SidecarA.StatAsync(Passthrough), await _mesh.SidecarA.StatAsync(PassthroughRequests));

    private static string UniquePath(string what) => $"/{what}/{Guid.NewGuid():N}";

    private static string OutboundCluster(int port, string stat) => $"cluster.outbound|{port}||b.{stat}";

    private static string InboundCluster(int port, string stat) => $"cluster.inbound|{port}||b.{stat}";
}
