using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>How a <see cref="MisbehavingUpstream"/> fails each connection.</summary>
public enum Misbehaviour
{
    /// <summary>Reads the request head, then resets the connection (RST, no response).</summary>
    ResetAfterRequest,

    /// <summary>Sends a 200 head promising 100 bytes, sends 10, then closes.</summary>
    CloseMidBody,
}

/// <summary>A raw TCP upstream on 127.0.0.1:0 that fails every connection the same way.</summary>
public sealed class MisbehavingUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly Misbehaviour _mode;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _acceptLoop;
    private int _connections;

    private MisbehavingUpstream(Misbehaviour mode)
    {
        _mode = mode;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public static MisbehavingUpstream Start(Misbehaviour mode) => new(mode);

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }

        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stopping.Token);
            Interlocked.Increment(ref _connections);
            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            try
            {
                var buffer = new byte[16 * 1024];
                var head = new StringBuilder();
                while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var read = await socket.ReceiveAsync(buffer, _stopping.Token);
                    if (read == 0)
                    {
                        return;
                    }

                    head.Append(Encoding.Latin1.GetString(buffer, 0, read));
                }

                if (_mode == Misbehaviour.ResetAfterRequest)
                {
                    socket.LingerState = new LingerOption(true, 0);
                    socket.Close();
                    return;
                }

                await socket.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789"), _stopping.Token);
                await Task.Delay(50, _stopping.Token);
                socket.Shutdown(SocketShutdown.Both);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                // The test is over or the proxy went away.
            }
        }
    }
}
