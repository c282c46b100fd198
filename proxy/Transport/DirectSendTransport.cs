using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Herald.Proxy.Transport;

/// <summary>A connection's transport whose output sends to its socket directly (<see cref="SocketPipeWriter"/>).</summary>
internal sealed class DirectSendTransport : IDuplexPipe
{
    private DirectSendTransport(PipeReader input, PipeWriter output)
    {
        Input = input;
        Output = output;
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>The connection's transport with a direct-send output, or the transport as it is when no socket is exposed.</summary>
    public static IDuplexPipe For(ConnectionContext context) =>
        context.Features.Get<IConnectionSocketFeature>()?.Socket is { } socket
            ? new DirectSendTransport(context.Transport.Input, new SocketPipeWriter(socket, context.Transport.Output))
            : context.Transport;
}
