using System.Net;
using System.Net.Sockets;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A port that was free a moment ago: bound on 127.0.0.1:0 and released. Another process can
/// take it before we use it, so whoever binds it retries once with a new one on a conflict.
/// </summary>
public static class FreePort
{
    public static int Next()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>
    /// A port on which nothing listens (connections to it are refused) for as long as the
    /// result is not disposed: it stays bound, so no other test's listener or outgoing
    /// connection can take it meanwhile (a released port was taken once and a connect hung).
    /// </summary>
    public static RefusingPort Refusing() => new();
}

/// <summary>A loopback socket bound but not listening; see <see cref="FreePort.Refusing"/>.</summary>
public sealed class RefusingPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public RefusingPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public void Dispose() => _socket.Dispose();
}
