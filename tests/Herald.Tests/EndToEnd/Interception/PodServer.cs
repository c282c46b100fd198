using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>
/// node pod-server.js inside a pod's namespace: the pod's application on every protocol
/// (HTTP/1.1 8080, h2c 8081, WebSocket 8082, gRPC 50051, TCP echo 9000, server-first 9001).
/// It logs a line per HTTP request and per TCP connection, which is how a test counts what
/// the application saw. Killed on dispose.
/// </summary>
internal sealed class PodServer : IAsyncDisposable
{
    public const int Http1Port = 8080;
    public const int H2cPort = 8081;
    public const int WebSocketPort = 8082;
    public const int GrpcPort = 50051;
    public const int TcpEchoPort = 9000;
    public const int ServerFirstPort = 9001;

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private readonly ChildProcess _child;

    private PodServer(Pod pod, ChildProcess child)
    {
        Pod = pod;
        _child = child;
    }

    public Pod Pod { get; }

    public static async Task<PodServer> StartAsync(PodNetwork network, Pod pod)
    {
        await NodePeers.EnsureInstalledAsync();
        var child = network.Start(pod, [Tools.Node, Path.Combine(RepoPaths.NodePeers, "pod-server.js"), "--name", pod.Name], RepoPaths.NodePeers);
        try
        {
            await child.WaitForStdoutLineAsync(l => l == $"pod-server {pod.Name} ready", StartTimeout);
            return new PodServer(pod, child);
        }
        catch
        {
            await child.DisposeAsync();
            throw;
        }
    }

    /// <summary>How many log lines contain <paramref name="text"/> (for example a request's unique path).</summary>
    public int CountLines(string text) =>
        _child.Stdout.Split('\n').Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>
    /// Waits until at least <paramref name="atLeast"/> log lines contain <paramref name="text"/>
    /// (output arrives asynchronously); returns the count then, or at the deadline.
    /// </summary>
    public async Task<int> WaitForLinesAsync(string text, int atLeast, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(5));
        while (true)
        {
            var count = CountLines(text);
            if (count >= atLeast || DateTime.UtcNow > deadline)
            {
                return count;
            }

            await Task.Delay(20);
        }
    }

    public string Transcript() => $"pod-server in {Pod}\n{_child.Transcript()}";

    public ValueTask DisposeAsync() => _child.DisposeAsync();
}
