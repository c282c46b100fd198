using System.Net;
using System.Net.Sockets;

namespace Herald.Tests.Tcp;

/// <summary>A real TCP server on 127.0.0.1 that runs <c>serve</c> for each accepted connection.</summary>
internal sealed class TestUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Socket, Task> _serve;
    private readonly List<Task> _connections = [];
    private readonly Task _acceptLoop;

    public TestUpstream(Func<Socket, Task> serve)
    {
        _serve = serve;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>The task of each connection's <c>serve</c>, in accept order.</summary>
    public IReadOnlyList<Task> Connections
    {
        get
        {
            lock (_connections)
            {
                return [.. _connections];
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception)
        {
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync();
            }
            catch (Exception)
            {
                return;
            }

            lock (_connections)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        using (socket)
        {
            await _serve(socket);
        }
    }

    /// <summary>Echoes everything back; on end of stream, half-closes in turn.</summary>
    public static async Task EchoAsync(Socket socket)
    {
        var buffer = new byte[16 * 1024];
        while (true)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None);
            if (n == 0)
            {
                socket.Shutdown(SocketShutdown.Send);
                return;
            }

            await SocketIo.SendAllAsync(socket, buffer.AsMemory(0, n));
        }
    }
}
