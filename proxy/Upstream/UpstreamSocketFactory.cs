using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Wraps connected upstream sockets in Kestrel's socket pipes, so upstream I/O uses the
/// same scheduling and memory pool as the downstream side.
/// </summary>
internal static class UpstreamSocketFactory
{
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
}
