using System.Buffers;
using System.IO.Pipelines;

namespace Herald.Proxy.Transport;

/// <summary>
/// A connection's transport whose output gathers what is written before it is sent: bytes go
/// into a pipe whose reader runs from the thread pool, so the frames of every stream that
/// answers before that reader runs leave in one send. For downstream HTTP/2: Kestrel flushes
/// each stream's response on its own, and with inline socket scheduling each flush was a
/// send (1.0 per h2c request, against 0.1 with the output scheduled).
/// Completing the output sends what is left, then completes the connection's own output;
/// a connection whose own output stops taking bytes stops this one too.
/// </summary>
internal sealed class CoalescingTransport : IDuplexPipe
{
    // Kestrel's default for a connection's output (MaxResponseBufferSize); the connection's
    // own output holds as much again while its send is under way.
    private const long PauseThreshold = 64 * 1024;
    private const long ResumeThreshold = PauseThreshold / 2;

    private readonly Pipe _pending;
    private readonly PipeWriter _connectionOutput;

    private CoalescingTransport(PipeReader input, PipeWriter connectionOutput, MemoryPool<byte> pool, PipeScheduler sendScheduler)
    {
        _connectionOutput = connectionOutput;
        _pending = new Pipe(new PipeOptions(
            pool,
            readerScheduler: sendScheduler,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: PauseThreshold,
            resumeWriterThreshold: ResumeThreshold,
            useSynchronizationContext: false));
        Input = input;
        Sending = SendAsync();
    }

    /// <summary>Whether connections' outputs are coalesced; HERALD_COALESCE_HTTP2_OUTPUT=0 turns it off.</summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("HERALD_COALESCE_HTTP2_OUTPUT") != "0";

    public PipeReader Input { get; }

    public PipeWriter Output => _pending.Writer;

    /// <summary>How long a finished connection waits for its last bytes to be taken before it is cut.</summary>
    public static TimeSpan LastSendTimeout { get; } = TimeSpan.FromSeconds(5);

    /// <summary>Completes once everything written has gone to the connection's own output (or it stopped taking bytes).</summary>
    public Task Sending { get; }

    /// <summary>
    /// Wraps <paramref name="transport"/>; what is written is sent from <paramref name="sendScheduler"/>
    /// (the thread pool unless a test steps it by hand).
    /// </summary>
    public static CoalescingTransport Wrap(IDuplexPipe transport, MemoryPool<byte> pool, PipeScheduler? sendScheduler = null) =>
        new(transport.Input, transport.Output, pool, sendScheduler ?? PipeScheduler.ThreadPool);

    /// <summary>
    /// Completes the output and waits, at most <see cref="LastSendTimeout"/>, for what is left
    /// (GOAWAY among it) to reach the connection's own output. False when the time ran out:
    /// the peer is not reading, and the caller cuts the connection.
    /// </summary>
    public async Task<bool> FinishAsync(TimeProvider time)
    {
        await Output.CompleteAsync().ConfigureAwait(false);
        try
        {
            await Sending.WaitAsync(LastSendTimeout, time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task SendAsync()
    {
        var reader = _pending.Reader;
        Exception? failure = null;
        try
        {
            while (true)
            {
                var read = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = read.Buffer;
                foreach (var segment in buffer)
                {
                    _connectionOutput.Write(segment.Span);
                }

                var wrote = !buffer.IsEmpty;
                reader.AdvanceTo(buffer.End);
                if (wrote && (await _connectionOutput.FlushAsync().ConfigureAwait(false)).IsCompleted)
                {
                    break;
                }

                if (read.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            failure = e;
        }

        await reader.CompleteAsync(failure).ConfigureAwait(false);
        await _connectionOutput.CompleteAsync(failure).ConfigureAwait(false);
    }
}
