using System.Globalization;
using System.Net;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// A Herald data plane whose configuration comes over xDS: <c>herald proxy</c> on an ADS
/// bootstrap (a gateway), <c>herald sidecar</c>, or <c>herald gateway</c> (embedded control
/// plane). Its admin endpoint is on a free port. Killed on dispose.
/// </summary>
internal sealed class DataPlaneProcess : IAsyncDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly ChildProcess _child;
    private readonly DirectoryInfo? _dir;

    private DataPlaneProcess(ChildProcess child, int adminPort, DirectoryInfo? dir)
    {
        _child = child;
        _dir = dir;
        AdminPort = adminPort;
        Admin = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{adminPort}/"),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public int AdminPort { get; }

    public HttpClient Admin { get; }

    public bool HasExited => _child.HasExited;

    public string Stdout => _child.Stdout;

    /// <summary>
    /// <c>herald proxy</c> whose node carries <c>HERALD_GATEWAY: gateway</c> and whose whole
    /// config comes over ADS from <paramref name="xdsPort"/> (state of the world, or delta).
    /// </summary>
    public static Task<DataPlaneProcess> StartGatewayProxyAsync(string gateway, int xdsPort, bool delta = false) =>
        StartGatewayProxyAsync(gateway, [xdsPort], delta);

    /// <summary>As above, with one endpoint per control-plane replica in the ADS cluster (tried in turn on reconnects).</summary>
    public static Task<DataPlaneProcess> StartGatewayProxyAsync(string gateway, IReadOnlyList<int> xdsPorts, bool delta = false) =>
        StartWithRetryAsync(adminPort =>
        {
            var dir = Directory.CreateTempSubdirectory("herald-gw-");
            var file = Path.Combine(dir.FullName, "bootstrap.yaml");
            File.WriteAllText(file, AdsBootstrap($"gateway-{gateway}", gateway, gateway, xdsPorts, delta));
            return (HeraldCli.Start("proxy", "--bootstrap", file, "--admin", $"127.0.0.1:{adminPort}"), dir);
        });

    /// <summary>As <see cref="StartGatewayProxyAsync(string, int, bool)"/>, without waiting for /ready (for a gateway that must not turn ready).</summary>
    public static DataPlaneProcess LaunchGatewayProxy(string gateway, int xdsPort)
    {
        var dir = Directory.CreateTempSubdirectory("herald-gw-");
        var file = Path.Combine(dir.FullName, "bootstrap.yaml");
        File.WriteAllText(file, AdsBootstrap($"gateway-{gateway}", gateway, gateway, [xdsPort], delta: false));
        var adminPort = FreePort.Next();
        return new DataPlaneProcess(HeraldCli.Start("proxy", "--bootstrap", file, "--admin", $"127.0.0.1:{adminPort}"), adminPort, dir);
    }

    /// <summary>Waits until the process writes a stderr line matching <paramref name="match"/>; returns it.</summary>
    public Task<string> WaitForStderrLineAsync(Func<string, bool> match, TimeSpan timeout) => _child.WaitForStderrLineAsync(match, timeout);

    /// <summary><c>herald sidecar --xds 127.0.0.1:X --node-id ID --cluster WORKLOAD</c>.</summary>
    public static Task<DataPlaneProcess> StartSidecarAsync(string nodeId, string workload, int xdsPort) =>
        StartSidecarAsync(nodeId, workload, $"127.0.0.1:{xdsPort}");

    /// <summary><c>herald sidecar --xds ADDRESSES --node-id ID --cluster WORKLOAD</c> (ADDRESSES: HOST:PORT[,HOST:PORT...]).</summary>
    public static Task<DataPlaneProcess> StartSidecarAsync(string nodeId, string workload, string xdsAddresses) =>
        StartWithRetryAsync(adminPort => (
            HeraldCli.Start("sidecar", "--xds", xdsAddresses, "--node-id", nodeId, "--cluster", workload, "--admin", $"127.0.0.1:{adminPort}"),
            null));

    /// <summary><c>herald gateway --config MESH --api 127.0.0.1:A --admin 127.0.0.1:B</c>.</summary>
    public static Task<DataPlaneProcess> StartEmbeddedGatewayAsync(string meshPath, int apiPort) =>
        StartWithRetryAsync(adminPort => (
            HeraldCli.Start("gateway", "--config", meshPath, "--api", $"127.0.0.1:{apiPort}", "--admin", $"127.0.0.1:{adminPort}"),
            null));

    /// <summary><c>herald gateway --store STORE --gateway NAME --api 127.0.0.1:A --admin 127.0.0.1:B</c> (the mesh comes from etcd).</summary>
    public static Task<DataPlaneProcess> StartStoredGatewayAsync(string store, string gateway, int apiPort) =>
        StartWithRetryAsync(adminPort => (
            HeraldCli.Start("gateway", "--store", store, "--gateway", gateway, "--api", $"127.0.0.1:{apiPort}", "--admin", $"127.0.0.1:{adminPort}"),
            null));

    /// <summary>An Envoy bootstrap: node with HERALD_GATEWAY, ADS over a static cluster naming the control plane.</summary>
    public static string AdsBootstrap(string nodeId, string cluster, string gateway, int xdsPort, bool delta) =>
        AdsBootstrap(nodeId, cluster, gateway, [xdsPort], delta);

    public static string AdsBootstrap(string nodeId, string cluster, string gateway, IReadOnlyList<int> xdsPorts, bool delta) => $$"""
        node:
          id: "{{nodeId}}"
          cluster: "{{cluster}}"
          metadata: { HERALD_GATEWAY: "{{gateway}}" }
        dynamic_resources:
          ads_config:
            api_type: {{(delta ? "DELTA_GRPC" : "GRPC")}}
            transport_api_version: V3
            grpc_services:
              - envoy_grpc: { cluster_name: herald_xds }
          lds_config: { ads: {}, resource_api_version: V3 }
          cds_config: { ads: {}, resource_api_version: V3 }
        static_resources:
          clusters:
            - name: herald_xds
              type: STATIC
              connect_timeout: 1s
              typed_extension_protocol_options:
                envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                  "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                  explicit_http_config: { http2_protocol_options: {} }
              load_assignment:
                cluster_name: herald_xds
                endpoints:
                  - lb_endpoints:
                      {{string.Join("\n              ", xdsPorts.Select(p => $"- endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {p} }} }} }}"))}}
        """;

    /// <summary>GET an admin path; throws on a non-2xx answer.</summary>
    public async Task<string> GetAdminAsync(string path)
    {
        using var response = await Admin.GetAsync(path.TrimStart('/'));
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"admin GET {path}: {(int)response.StatusCode}\n{body}");
        }

        return body;
    }

    /// <summary>A counter or gauge from /stats, or null when it is not there.</summary>
    public async Task<long?> GetStatAsync(string name)
    {
        var text = await GetAdminAsync("/stats");
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon > 0 && line[..colon].Trim() == name)
            {
                return long.Parse(line[(colon + 2)..].Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    /// <summary>Polls /stats until the stat satisfies <paramref name="condition"/>; returns false at the deadline.</summary>
    public async Task<bool> WaitForStatAsync(string name, Func<long, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (await GetStatAsync(name) is { } value && condition(value))
            {
                return true;
            }

            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Cluster names from /clusters (lines NAME::observability_name::...).</summary>
    public async Task<IReadOnlyList<string>> ClusterNamesAsync()
    {
        var text = await GetAdminAsync("/clusters");
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var end = line.IndexOf("::", StringComparison.Ordinal);
            if (end > 0)
            {
                names.Add(line[..end]);
            }
        }

        return [.. names];
    }

    public string Transcript() => $"{_child.Description}\n{_child.Transcript()}";

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await _child.DisposeAsync();
        if (_dir is not null)
        {
            try
            {
                _dir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // Left behind: harmless.
            }
        }
    }

    private static async Task<DataPlaneProcess> StartWithRetryAsync(Func<int, (ChildProcess Child, DirectoryInfo? Dir)> launch)
    {
        for (var attempt = 1; ; attempt++)
        {
            var adminPort = FreePort.Next();
            var (child, dir) = launch(adminPort);
            var plane = new DataPlaneProcess(child, adminPort, dir);
            try
            {
                await plane.WaitReadyAsync();
                return plane;
            }
            catch (Exception) when (attempt == 1 && child.HasExited && HeraldCli.LooksLikeBindConflict(child.Stderr + child.Stdout))
            {
                await plane.DisposeAsync();
            }
            catch
            {
                await plane.DisposeAsync();
                throw;
            }
        }
    }

    // /ready turns 200 once the first configuration from the control plane is applied.
    private async Task WaitReadyAsync()
    {
        var deadline = DateTime.UtcNow + ReadyTimeout;
        var last = "no answer";
        while (DateTime.UtcNow < deadline)
        {
            if (_child.HasExited)
            {
                await _child.WaitForExitAsync(TimeSpan.FromSeconds(5));
                throw new InvalidOperationException($"herald exited with code {_child.ExitCode} before it was ready.\n{Transcript()}");
            }

            try
            {
                using var response = await Admin.GetAsync("ready");
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"herald was not ready within {ReadyTimeout} (GET /ready: {last}).\n{Transcript()}");
    }
}
