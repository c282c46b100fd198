using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Creates upstream sockets (bound to a cluster's upstream_bind_config source when it has one)
/// and wraps connected ones in Kestrel's socket pipes, so upstream I/O uses the same
/// scheduling and memory pool as the downstream side.
/// </summary>
internal static class UpstreamSocketFactory
{
    // Linux IP_BIND_ADDRESS_NO_PORT (SOL_IP): a bound source address takes its port at
    // connect time, so many connections from one source address do not exhaust bind()'s ports.
    private const int SolIp = 0;
    private const int IpBindAddressNoPort = 24;

    private static readonly SocketConnectionContextFactory Factory = new(
        new SocketConnectionFactoryOptions
        {
            IOQueueCount = 0,
            WaitForDataBeforeAllocatingBuffer = true,
            MaxReadBufferSize = 64 * 1024,
            MaxWriteBufferSize = 64 * 1024,
            UnsafePreferInlineScheduling = TransportSettings.InlineScheduling,
        },
        NullLogger.Instance);

    public static ConnectionContext Create(Socket socket) => Factory.Create(socket);

    /// <summary>
    /// An unconnected TCP socket for <paramref name="remote"/>. With a <paramref name="source"/>
    /// of the same address family it is bound there first (Envoy's upstream_bind_config; a
    /// sidecar delivers inbound traffic from 127.0.0.6 so the interception rules let it pass).
    /// </summary>
    public static Socket CreateSocket(IPEndPoint remote, IPEndPoint? source)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (source is null || source.AddressFamily != remote.AddressFamily)
        {
            return socket;
        }

        try
        {
            if (source.Port == 0 && OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(SolIp, IpBindAddressNoPort, BitConverter.GetBytes(1));
            }

            socket.Bind(source);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Creates (see <see cref="CreateSocket"/>) and connects; the socket is disposed on failure.</summary>
    public static async ValueTask<Socket> ConnectAsync(IPEndPoint remote, IPEndPoint? source, CancellationToken cancellationToken)
    {
        var socket = CreateSocket(remote, source);
        try
        {
            await socket.ConnectAsync(remote, cancellationToken).ConfigureAwait(false);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
