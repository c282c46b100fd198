using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>
/// <c>herald control-plane --config MESH --xds 127.0.0.1:X --api 127.0.0.1:A</c> as a child
/// process, with a client of its registry API. Killed on dispose.
/// </summary>
internal sealed partial class ControlPlaneProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly ChildProcess _child;

    private ControlPlaneProcess(ChildProcess child, int xdsPort, int apiPort)
    {
        _child = child;
        XdsPort = xdsPort;
        ApiPort = apiPort;
        Api = new HttpClient(new SocketsHttpHandler { UseProxy = false })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/"),
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    public int XdsPort { get; }

    public int ApiPort { get; }

    /// <summary>127.0.0.1:XDSPORT.</summary>
    public string XdsAddress => $"127.0.0.1:{XdsPort}";

    public HttpClient Api { get; }

    public bool HasExited => _child.HasExited;

    /// <summary>
    /// Starts the control plane on <paramref name="xdsPort"/> and <paramref name="apiPort"/>
    /// (free ports when null) and waits for its ready line. On a bind conflict over free ports
    /// it tries once more with new ones; fixed ports (a restart) are retried until the deadline.
    /// With <paramref name="store"/> (<c>etcd://...</c>) the registry and mesh live in etcd, and
    /// <paramref name="meshPath"/> may be null (the replica serves the mesh another one stored).
    /// <paramref name="dnsServer"/> (HOST:PORT) answers the mesh's DNS imports.
    /// </summary>
    public static async Task<ControlPlaneProcess> StartAsync(string? meshPath, int? xdsPort = null, int? apiPort = null, string? store = null, string? dnsServer = null)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        for (var attempt = 1; ; attempt++)
        {
            var xds = xdsPort ?? FreePort.Next();
            var api = apiPort ?? FreePort.Next();
            string[] args = ["control-plane", "--xds", $"127.0.0.1:{xds}", "--api", $"127.0.0.1:{api}"];
            args = meshPath is null ? args : [.. args, "--config", meshPath];
            args = store is null ? args : [.. args, "--store", store];
            args = dnsServer is null ? args : [.. args, "--dns-server", dnsServer];
            var child = HeraldCli.Start(args);
            try
            {
                var line = await child.WaitForStdoutLineAsync(l => l.StartsWith("herald control-plane: xDS", StringComparison.Ordinal), StartTimeout);
                var match = ReadyLine().Match(line);
                if (!match.Success
                    || int.Parse(match.Groups["xds"].Value, CultureInfo.InvariantCulture) != xds
                    || int.Parse(match.Groups["api"].Value, CultureInfo.InvariantCulture) != api)
                {
                    throw new InvalidOperationException($"unexpected ready line (asked for xDS {xds}, API {api}): {line}");
                }

                return new ControlPlaneProcess(child, xds, api);
            }
            catch (InvalidOperationException) when (child.HasExited && HeraldCli.LooksLikeBindConflict(child.Stderr + child.Stdout)
                && ((xdsPort is null && apiPort is null && attempt == 1) || (xdsPort is not null && DateTime.UtcNow < deadline)))
            {
                child.Dispose();
                await Task.Delay(200);
            }
            catch
            {
                child.Dispose();
                throw;
            }
        }
    }

    /// <summary>PUT /v1/registry/instances; returns the instance id.</summary>
    public async Task<string> RegisterAsync(string service, int port, IReadOnlyDictionary<string, string> labels, string version, int ttlSeconds = 600)
    {
        try
        {
            return await RegistryClient.RegisterAsync(Api, service, port, labels, version, ttlSeconds);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message}\n{Transcript()}", e);
        }
    }

    /// <summary>PUT /v1/registry/instances, the answer as it came.</summary>
    public async Task<HttpResponseMessage> RegisterRawAsync(string service, int port, IReadOnlyDictionary<string, string> labels, string version, int ttlSeconds)
    {
        var body = new { service, address = "127.0.0.1", port, labels, version, ttl_seconds = ttlSeconds };
        return await Api.PutAsJsonAsync("v1/registry/instances", body);
    }

    /// <summary>PUT /v1/registry/instances/{id}/heartbeat; true on 200, false on 404.</summary>
    public async Task<bool> HeartbeatAsync(string id)
    {
        using var response = await Api.PutAsync($"v1/registry/instances/{Uri.EscapeDataString(id)}/heartbeat", null);
        return response.IsSuccessStatusCode;
    }

    /// <summary>The ids of a service's instances as this replica lists them.</summary>
    public async Task<IReadOnlyList<string>> InstanceIdsAsync(string service)
    {
        var text = await Api.GetStringAsync($"v1/registry/services/{Uri.EscapeDataString(service)}");
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("id").GetString()!)];
    }

    /// <summary>DELETE /v1/registry/instances/{id}; throws unless 200.</summary>
    public Task DeregisterAsync(string id) => RegistryClient.DeregisterAsync(Api, id);

    /// <summary>GET /v1/proxies, raw JSON, for failure messages.</summary>
    public async Task<string> ProxiesAsync()
    {
        try
        {
            return await Api.GetStringAsync("v1/proxies");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return $"(GET /v1/proxies failed: {e.Message})";
        }
    }

    /// <summary>Kills the process (SIGKILL, no goodbye to its streams) and waits until it is gone.</summary>
    public void Kill() => _child.Kill();

    public string Transcript() => $"control plane: {_child.Description}\n{_child.Transcript()}";

    public ValueTask DisposeAsync()
    {
        Api.Dispose();
        return _child.DisposeAsync();
    }

    [GeneratedRegex(@"xDS \(ADS\) on [^,]*:(?<xds>\d+), registry API on http://.*:(?<api>\d+)$")]
    private static partial Regex ReadyLine();
}
