using System.IO.Pipelines;
using System.Net.Sockets;

namespace Herald.Tests.Tcp;

/// <summary>
/// An accepted socket as an <see cref="IDuplexPipe"/>, standing in for the listener's
/// transport: end of the output half-closes the socket (FIN), an output completed with
/// an error resets it (RST), and a peer's FIN or RST ends the input the same way.
/// </summary>
internal sealed class SocketDuplexPipe : IDuplexPipe
{
    private static readonly PipeOptions Options = new(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024, useSynchronizationContext: false);

    private readonly Socket _socket;
    private readonly Pipe _input = new(Options);
    private readonly Pipe _output = new(Options);

    public SocketDuplexPipe(Socket socket)
    {
        _socket = socket;
        Completion = Task.WhenAll(ReceiveLoopAsync(), SendLoopAsync()).ContinueWith(
            _ => _socket.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public PipeReader Input => _input.Reader;

    public PipeWriter Output => _output.Writer;

    /// <summary>Ends when both loops are done and the socket is closed.</summary>
    public Task Completion { get; }

    private async Task ReceiveLoopAsync()
    {
        var writer = _input.Writer;
        try
        {
            while (true)
            {
                var memory = writer.GetMemory(8192);
                var received = await _socket.ReceiveAsync(memory, SocketFlags.None);
                if (received == 0)
                {
                    break;
                }

                writer.Advance(received);
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted)
                {
                    break;
                }
            }

            await writer.CompleteAsync();
        }
        catch (Exception ex)
        {
            await writer.CompleteAsync(ex);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _output.Reader;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync();
                foreach (var segment in read.Buffer)
                {
                    var remaining = segment;
                    while (!remaining.IsEmpty)
                    {
                        remaining = remaining[await _socket.SendAsync(remaining, SocketFlags.None)..];
                    }
                }

                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }

            _socket.Shutdown(SocketShutdown.Send);
            await reader.CompleteAsync();
        }
        catch (Exception ex)
        {
            // The application aborted the connection (or the send failed): reset it.
            try
            {
                _socket.LingerState = new LingerOption(true, 0);
                _socket.Close();
            }
            catch (ObjectDisposedException)
            {
            }

            await reader.CompleteAsync(ex);
        }
    }
}
