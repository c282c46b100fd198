using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Byte-level checks over raw TCP, shared by the peer self-tests and the proxy tests.</summary>
public static class TcpChecks
{
    /// <summary>
    /// Sends <paramref name="size"/> random bytes while reading concurrently (so neither side's
    /// buffers need to hold the whole payload) and returns what came back.
    /// </summary>
    public static async Task<(byte[] Sent, byte[] Received)> EchoRoundTripAsync(int port, int size, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port, cts.Token);
        var stream = client.GetStream();
        var sent = new byte[size];
        Random.Shared.NextBytes(sent);
        var received = new byte[size];

        var reader = Task.Run(
            async () =>
            {
                var offset = 0;
                while (offset < size)
                {
                    var read = await stream.ReadAsync(received.AsMemory(offset), cts.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    offset += read;
                }

                return offset;
            },
            cts.Token);

        for (var offset = 0; offset < size; offset += 16 * 1024)
        {
            await stream.WriteAsync(sent.AsMemory(offset, Math.Min(16 * 1024, size - offset)), cts.Token);
        }

        var got = await reader;
        return (sent, received.AsSpan(0, got).ToArray());
    }

    /// <summary>Connects, sends nothing, and reads what the server says first (up to the first LF).</summary>
    /// <summary>
    /// Sends <paramref name="size"/> bytes, half-closes at once (before any echo is back), then
    /// reads until the server's end of stream: what a client of a request/response protocol
    /// that signals "request complete" with FIN does.
    /// </summary>
    public static async Task<(byte[] Sent, byte[] Received)> SendHalfCloseThenReadAsync(int port, int size, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), cts.Token);
        var sent = new byte[size];
        Random.Shared.NextBytes(sent);
        await socket.SendAsync(sent, SocketFlags.None, cts.Token);
        socket.Shutdown(SocketShutdown.Send);

        using var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            if (read == 0)
            {
                break;
            }

            received.Write(buffer, 0, read);
        }

        return (sent, received.ToArray());
    }

    public static async Task<string> ReadBannerAsync(int port, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync("127.0.0.1", port, cts.Token);
        var stream = client.GetStream();
        var text = new StringBuilder();
        var buffer = new byte[256];
        try
        {
            while (!text.ToString().Contains('\n', StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer, cts.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.ASCII.GetString(buffer, 0, read));
            }
        }
        catch (OperationCanceledException)
        {
            // Return what arrived (maybe nothing): the caller's assertion says what was expected.
        }

        return text.ToString();
    }
}
