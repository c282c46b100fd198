using System.IO.Pipelines;
using System.Net.Security;

namespace Herald.Proxy.Tls;

/// <summary>The decrypted side of a TLS connection (downstream or upstream), as the pipes Herald's HTTP and TCP code use.</summary>
internal sealed class TlsPipe : IDuplexPipe
{
    private const int ReadBufferSize = 16 * 1024;

    public TlsPipe(SslStream stream)
    {
        Stream = stream;
        Input = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: ReadBufferSize, minimumReadSize: 2048, leaveOpen: true));
        Output = PipeWriter.Create(stream, new StreamPipeWriterOptions(leaveOpen: true));
    }

    public SslStream Stream { get; }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>Completes both pipes and sends close_notify, best effort: the peer may be gone already.</summary>
    public async ValueTask CloseAsync()
    {
        await Input.CompleteAsync().ConfigureAwait(false);
        await Output.CompleteAsync().ConfigureAwait(false);
        try
        {
            await Stream.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or NotSupportedException)
        {
            // The peer closed first.
        }

        await Stream.DisposeAsync().ConfigureAwait(false);
    }
}
