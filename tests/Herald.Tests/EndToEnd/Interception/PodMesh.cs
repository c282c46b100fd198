using System.Text.Json;
using Herald.Proxy.Cli;
using Herald.Tests.EndToEnd.Xds;
using Herald.Tests.TestSupport.EndToEnd;
using Xunit;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// The whole mesh of issue #4, started once for a test class, in a <see cref="PodNetwork"/>:
/// <list type="bullet">
/// <item>hub: <c>herald control-plane</c> on 10.251.N.1 (xDS 15010, registry API 15014), fed a
/// mesh file with service <c>b</c> and sidecars for workloads <c>a</c> and <c>b</c>;</item>
/// <item>pod A: interception rules and the sidecar of workload <c>a</c> (every dependency); the
/// clients run here;</item>
/// <item>pod B: pod-server.js, interception rules and the sidecar of workload <c>b</c> serving
/// service <c>b</c>, whose instances (one per port, B's address) are in the registry;</item>
/// <item>pod C: pod-server.js only, outside the mesh: no rules, no sidecar, not in the mesh file.</item>
/// </list>
/// Everything is torn down on dispose, also when starting failed halfway.
/// </summary>
public sealed class PodMesh : IAsyncLifetime
{
    public const int XdsPort = 15010;
    public const int ApiPort = 15014;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private static readonly (int Port, string Protocol)[] ServicePorts =
    [
        (PodServer.Http1Port, "http"),
        (PodServer.H2cPort, "http2"),
        (PodServer.GrpcPort, "grpc"),
        (PodServer.WebSocketPort, "http"),
        (PodServer.TcpEchoPort, "tcp"),
        (PodServer.ServerFirstPort, "tcp"),
    ];

    private MeshFile? _meshFile;
    private ChildProcess? _controlPlane;
    private PodServer? _serverB;
    private PodServer? _serverC;
    private PodSidecar? _sidecarA;
    private PodSidecar? _sidecarB;
    private PodNetwork? _network;

    internal PodNetwork Network => _network ?? throw NotStarted();

    internal Pod A => Network.A;

    internal Pod B => Network.B;

    internal Pod C => Network.C;

    internal PodServer ServerB => _serverB ?? throw NotStarted();

    internal PodServer ServerC => _serverC ?? throw NotStarted();

    internal PodSidecar SidecarA => _sidecarA ?? throw NotStarted();

    internal PodSidecar SidecarB => _sidecarB ?? throw NotStarted();

    internal static string MeshYaml => $$"""
        services:
          - name: b
            mesh: true
            ports:
        {{PortsYaml()}}
          - name: cold
            mesh: false
            ports: [{port: 8081, protocol: http2}]
            activation: {hold_timeout: 9s}
        sidecars:
          - workload: a
          - workload: b
            service: b
        """;

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var disposable in new IAsyncDisposable?[] { _sidecarA, _sidecarB, _serverB, _serverC, _controlPlane })
        {
            if (disposable is not null)
            {
                await disposable.DisposeAsync();
            }
        }

        _sidecarA = _sidecarB = null;
        _serverB = _serverC = null;
        _controlPlane = null;
        _network?.Dispose();
        _meshFile?.Dispose();
    }

    /// <summary>Everything the processes printed, for failure messages.</summary>
    internal string Transcripts() => string.Join(
        "\n",
        _sidecarA?.Transcript() ?? string.Empty,
        _sidecarB?.Transcript() ?? string.Empty,
        _controlPlane is null ? string.Empty : $"control plane: {_controlPlane.Description}\n{_controlPlane.Transcript()}");

    private static string PortsYaml() =>
        string.Join('\n', ServicePorts.Select(p => "      - {port: " + p.Port + ", protocol: " + p.Protocol + "}"));

    private static InvalidOperationException NotStarted() => new("the pod mesh is not started");

    private async Task StartAsync()
    {
        NamespacePair.RequireRoot();
        _ = Tools.Curl;
        _ = Tools.Node;
        await NodePeers.EnsureInstalledAsync();
        _network = PodNetwork.Create();
        _meshFile = new MeshFile(MeshYaml);

        var hub = _network.Hub.Address;
        _controlPlane = _network.Start(_network.Hub, HeraldCli.CommandLine(
            "control-plane", "--config", _meshFile.Path, "--xds", $"{hub}:{XdsPort}", "--api", $"{hub}:{ApiPort}"));
        var serverB = PodServer.StartAsync(_network, B);
        var serverC = PodServer.StartAsync(_network, C);
        await _controlPlane.WaitForStdoutLineAsync(l => l.StartsWith("herald control-plane: xDS", StringComparison.Ordinal), StartTimeout);
        _serverB = await serverB;
        _serverC = await serverC;
        foreach (var (port, _) in ServicePorts)
        {
            await RegisterAsync("b", B, port);
        }

        await CheckDirectPathAsync();

        // The init container's step, in A and B: the default rules.
        foreach (var pod in new[] { A, B })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            if (IptablesCommand.Run(["install"], _network.Runner(pod), stdout, stderr) != 0)
            {
                throw new InvalidOperationException($"herald iptables install in {pod} failed:\n{stdout}\n{stderr}");
            }
        }

        var xds = $"{hub}:{XdsPort}";
        _sidecarA = PodSidecar.Start(_network, A, xds, "a-1", "a", null);
        _sidecarB = PodSidecar.Start(_network, B, xds, "b-1", "b", "b");
        var endpoint = $"outbound|{PodServer.Http1Port}||b::{B.Address}:{PodServer.Http1Port}::";
        await Task.WhenAll(
            _sidecarA.WaitConfiguredAsync(
                (dump, clusters) => dump.Contains("\"virtualOutbound\"", StringComparison.Ordinal) && clusters.Contains(endpoint, StringComparison.Ordinal),
                $"showing listener virtualOutbound and endpoint {B.Address}:{PodServer.Http1Port} in outbound|{PodServer.Http1Port}||b",
                StartTimeout),
            _sidecarB.WaitConfiguredAsync(
                (dump, _) => dump.Contains("\"virtualInbound\"", StringComparison.Ordinal),
                "showing listener virtualInbound",
                StartTimeout));
    }

    /// <summary>PUT /v1/registry/instances through curl in the hub.</summary>
    internal async Task RegisterAsync(string service, Pod pod, int port)
    {
        var body = JsonSerializer.Serialize(new
        {
            service,
            address = pod.Address.ToString(),
            port,
            labels = new Dictionary<string, string>(),
            version = "1.0.0",
            ttl_seconds = 3600,
        });
        var url = $"http://{Network.Hub.Address}:{ApiPort}/v1/registry/instances";
        var result = await Network.CurlAsync(Network.Hub, "-X", "PUT", "-H", "content-type: application/json", "--data", body, "-w", "\n%{http_code}", url);
        if (result.ExitCode != 0 || !result.Stdout.EndsWith("\n200", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"registering {service} {pod.Address}:{port} failed:\n{result}\n{Transcripts()}");
        }
    }

    /// <summary>Before any rule exists, C reaches B's application directly and B sees C's address: the network itself works.</summary>
    private async Task CheckDirectPathAsync()
    {
        var url = $"http://{B.Address}:{PodServer.Http1Port}/direct-check";
        var result = await Network.CurlAsync(C, url);
        var seen = result.ExitCode == 0 ? JsonDocument.Parse(result.Stdout).RootElement.GetProperty("remoteAddress").GetString() : null;
        if (seen != C.Address.ToString())
        {
            throw new InvalidOperationException(
                $"the pod network does not work: C -> B directly should reach B's application from {C.Address}, got:\n{result}\n{ServerB.Transcript()}");
        }
    }
}
