using System.Globalization;
using System.Net;
using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// Client applications run inside a pod's namespace, dialling the destination's own address
/// unchanged: curl (HTTP/1.1, h2c), grpc-client.js, ws-client.js and tcp-client.js.
/// </summary>
internal static class PodClients
{
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(20);

    /// <summary>curl URL from the pod; the response body is pod-server.js's JSON echo.</summary>
    public static async Task<PodHttpResult> HttpAsync(PodNetwork network, Pod from, string url, params string[] curlArgs)
    {
        var result = await network.CurlAsync(from, [.. curlArgs, "-w", "\n%{http_code} %{http_version}", url]);
        var cut = result.Stdout.LastIndexOf('\n');
        var status = 0;
        var version = string.Empty;
        JsonElement? echo = null;
        if (cut >= 0)
        {
            var tail = result.Stdout[(cut + 1)..].Split(' ');
            status = int.TryParse(tail[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : 0;
            version = tail.Length > 1 ? tail[1] : string.Empty;
            var body = result.Stdout[..cut];
            if (body.StartsWith('{'))
            {
                try
                {
                    echo = JsonDocument.Parse(body).RootElement.Clone();
                }
                catch (JsonException)
                {
                    // Reported through Echo being null.
                }
            }
        }

        return new PodHttpResult(result, status, version, echo);
    }

    /// <summary>grpc-client.js against HOST:PORT: all four call kinds and two failing calls.</summary>
    public static Task<NodeClientResult> GrpcAsync(PodNetwork network, Pod from, IPAddress host, int port) =>
        NodeAsync(network, from, "grpc-client.js", ["--target", $"{host}:{port}"]);

    /// <summary>ws-client.js against ws://HOST:PORT/PATH: text, 256 KiB binary, close handshake.</summary>
    public static Task<NodeClientResult> WebSocketAsync(PodNetwork network, Pod from, IPAddress host, int port, string path) =>
        NodeAsync(network, from, "ws-client.js", ["--url", $"ws://{host}:{port}{path}"]);

    /// <summary>
    /// tcp-client.js: sends <paramref name="bytes"/> patterned bytes, half-closes, expects them all back;
    /// with <paramref name="banner"/>, first waits for a server line starting with it, sending nothing.
    /// </summary>
    public static Task<NodeClientResult> TcpAsync(PodNetwork network, Pod from, IPAddress host, int port, int bytes, string? banner = null) =>
        NodeAsync(network, from, "tcp-client.js", [
            "--host", host.ToString(), "--port", port.ToString(CultureInfo.InvariantCulture),
            "--bytes", bytes.ToString(CultureInfo.InvariantCulture),
            .. banner is null ? Array.Empty<string>() : ["--banner", banner]]);

    private static async Task<NodeClientResult> NodeAsync(PodNetwork network, Pod from, string script, string[] args)
    {
        await NodePeers.EnsureInstalledAsync();
        // The script's own timeout is shorter than ours, so it reports what it saw.
        var scriptTimeoutMs = ((int)(NodeTimeout.TotalMilliseconds - 5000)).ToString(CultureInfo.InvariantCulture);
        var result = await network.RunAsync(
            from,
            [Tools.Node, Path.Combine(RepoPaths.NodePeers, script), .. args, "--timeout-ms", scriptTimeoutMs],
            NodeTimeout,
            RepoPaths.NodePeers);
        return NodeClientResult.FromProcess(result);
    }
}
