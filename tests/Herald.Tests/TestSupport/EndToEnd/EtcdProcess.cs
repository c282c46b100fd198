using System.Net.Http.Json;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A real single-member etcd (Debian's etcd-server) on free 127.0.0.1 ports with its data in a
/// temp folder. It can be killed and started again on the same ports and data (a restart);
/// killed and its folder deleted on dispose.
/// </summary>
public sealed class EtcdProcess : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly DirectoryInfo _dir;
    private ChildProcess? _child;

    private EtcdProcess(DirectoryInfo dir, int clientPort, int peerPort)
    {
        _dir = dir;
        ClientPort = clientPort;
        PeerPort = peerPort;
    }

    public int ClientPort { get; }

    public int PeerPort { get; }

    /// <summary><c>etcd://127.0.0.1:PORT</c>, for <c>--store</c>.</summary>
    public string StoreUrl => $"etcd://127.0.0.1:{ClientPort}";

    public Uri ClientUrl => new($"http://127.0.0.1:{ClientPort}/");

    public static async Task<EtcdProcess> StartAsync()
    {
        var binary = Tools.Etcd;
        for (var attempt = 1; ; attempt++)
        {
            var etcd = new EtcdProcess(Directory.CreateTempSubdirectory("herald-etcd-"), FreePort.Next(), FreePort.Next());
            try
            {
                await etcd.StartProcessAsync(binary);
                return etcd;
            }
            catch (InvalidOperationException) when (attempt < 3 && etcd._child?.HasExited == true)
            {
                // A port taken between FreePort and etcd's bind: new ports.
                await etcd.DisposeAsync();
            }
        }
    }

    /// <summary>SIGKILL: no goodbye, as a crash.</summary>
    public void Kill() => _child?.Kill();

    /// <summary>Starts etcd again on the same ports and data folder.</summary>
    public async Task RestartAsync()
    {
        Kill();
        _child?.Dispose();
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            try
            {
                await StartProcessAsync(Tools.Etcd);
                return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline && _child?.HasExited == true)
            {
                _child.Dispose();
                await Task.Delay(200);
            }
        }
    }

    public string Transcript() => _child is null ? "etcd: not started" : $"etcd: {_child.Description}\n{_child.Transcript()}";

    public async ValueTask DisposeAsync()
    {
        if (_child is not null)
        {
            await _child.DisposeAsync();
        }

        try
        {
            _dir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private async Task StartProcessAsync(string binary)
    {
        var client = $"http://127.0.0.1:{ClientPort}";
        var peer = $"http://127.0.0.1:{PeerPort}";
        _child = ChildProcess.Start(binary, [
            "--name", "herald-test",
            "--data-dir", Path.Combine(_dir.FullName, "data"),
            "--listen-client-urls", client,
            "--advertise-client-urls", client,
            "--listen-peer-urls", peer,
            "--initial-advertise-peer-urls", peer,
            "--initial-cluster", $"herald-test={peer}",
            "--log-level", "warn",
        ]);

        // Ready when the JSON gateway answers a read.
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (_child.HasExited)
            {
                throw new InvalidOperationException($"etcd exited at start\n{Transcript()}");
            }

            try
            {
                using var response = await http.PostAsJsonAsync(new Uri(ClientUrl, "v3/kv/range"), new { key = "AA==" });
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"etcd did not answer within {StartTimeout.TotalSeconds} s\n{Transcript()}");
            }

            await Task.Delay(100);
        }
    }
}
