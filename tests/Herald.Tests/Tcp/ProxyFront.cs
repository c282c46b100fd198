using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Herald.Proxy.Tcp;

namespace Herald.Tests.Tcp;

/// <summary>A real listener whose accepted connections go through a <see cref="TcpProxyHandler"/>.</summary>
internal sealed class ProxyFront : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly TcpProxyHandler _handler;
    private readonly Channel<Task> _handled = Channel.CreateUnbounded<Task>();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Task _acceptLoop;

    public ProxyFront(TcpProxyHandler handler)
    {
        _handler = handler;
        _listener.Start();
        _acceptLoop = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndpoint;

    public async Task<Socket> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(EndPoint);
        return socket;
    }

    /// <summary>The next accepted connection's HandleAsync task.</summary>
    public async Task<Task> NextHandledAsync() => await _handled.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        _listener.Stop();
        try
        {
            await _acceptLoop;
        }
        catch (Exception)
        {
        }

        _shutdown.Dispose();
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

            var pipe = new SocketDuplexPipe(socket);
            var handled = _handler.HandleAsync(pipe, socket.RemoteEndPoint, _shutdown.Token);
            _handled.Writer.TryWrite(handled);
        }
    }
}
