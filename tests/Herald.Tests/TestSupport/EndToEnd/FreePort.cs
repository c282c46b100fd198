using System.Net;
using System.Net.Sockets;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A port that was free a moment ago, from below the kernel's ephemeral range: a port from
/// inside it (what binding port 0 gives) can be taken meanwhile as the local port of any
/// outgoing connection on the machine, which happened to a gateway's listener in CI while other
/// tests ran. Below the range only another listener can take it, and the ports are handed out
/// in turn from a random start, so this process does not hand out one port twice in a row.
/// Whoever binds it still retries once with a new one on a conflict.
/// </summary>
public static class FreePort
{
    private const int FirstPort = 20000;
    private static readonly int s_ephemeralStart = ReadEphemeralStart();
    private static int s_next = Random.Shared.Next(1 << 20);

    public static int Next()
    {
        var count = s_ephemeralStart - FirstPort;
        if (count >= 1000)
        {
            for (var attempt = 0; attempt < 200; attempt++)
            {
                var port = FirstPort + (int)((uint)Interlocked.Increment(ref s_next) % (uint)count);
                if (IsFree(port))
                {
                    return port;
                }
            }
        }

        // No room below the ephemeral range (a tuned kernel): the kernel's choice.
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

    // Bound without SO_REUSEADDR: fails while anything listens on the port (any address) or a
    // connection from it lingers in TIME_WAIT.
    private static bool IsFree(int port)
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Any, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int ReadEphemeralStart()
    {
        try
        {
            var text = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
            var first = text.Split((char[])['\t', ' ', '\n'], StringSplitOptions.RemoveEmptyEntries)[0];
            return int.Parse(first, System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return 32768;
        }
    }
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
