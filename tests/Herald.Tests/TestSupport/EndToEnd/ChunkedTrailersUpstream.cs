using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A hand-written HTTP/1.1 upstream that answers every request (bodiless, keep-alive) with a
/// chunked body and trailers, which Kestrel cannot send over HTTP/1.1. Records request heads.
/// </summary>
public sealed class ChunkedTrailersUpstream : IAsyncDisposable
{
    public const string Body = "first part;second part";

    private const string Response =
        "HTTP/1.1 200 OK\r\n" +
        "Content-Type: text/plain\r\n" +
        "Trailer: x-trailer-a, x-trailer-b\r\n" +
        "Transfer-Encoding: chunked\r\n" +
        "\r\n" +
        "b\r\nfirst part;\r\n" +
        "b\r\nsecond part\r\n" +
        "0\r\n" +
        "x-trailer-a: one\r\n" +
        "x-trailer-b: two\r\n" +
        "\r\n";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<string> _heads = new();
    private readonly Task _acceptLoop;

    private ChunkedTrailersUpstream()
    {
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Request heads received (request line and header lines, CRLF-separated).</summary>
    public IReadOnlyList<string> RequestHeads => _heads.ToArray();

    public static ChunkedTrailersUpstream Start() => new();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or TimeoutException)
        {
            // Stopping.
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var pending = new StringBuilder();
                var buffer = new byte[8192];
                var response = Encoding.ASCII.GetBytes(Response);
                while (true)
                {
                    var text = pending.ToString();
                    var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                    if (end >= 0)
                    {
                        _heads.Enqueue(text[..end]);
                        pending.Remove(0, end + 4);
                        await stream.WriteAsync(response, _stopping.Token);
                        continue;
                    }

                    var read = await stream.ReadAsync(buffer, _stopping.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    pending.Append(Encoding.Latin1.GetString(buffer, 0, read));
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The peer went away.
            }
        }
    }
}
