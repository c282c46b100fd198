using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Herald.Proxy.Transport;
using Herald.Tests.TestSupport;
using Xunit;

namespace Herald.Tests.Transport;

public sealed class CoalescingTransportTests
{
    private readonly SteppedScheduler _sendScheduler = new();

    [Fact]
    public async Task Output_SeveralFlushesBeforeTheSendRuns_ReachTheConnectionInOneFlush()
    {
        var connection = new CountingConnection();
        var transport = CoalescingTransport.Wrap(connection, MemoryPool<byte>.Shared, _sendScheduler);

        foreach (var frame in new[] { "first", "second", "third" })
        {
            var flushing = WriteAndFlush(transport.Output, frame);
            Assert.True(flushing.IsCompletedSuccessfully, "a flush under the bound must not wait for the send");
        }

        Assert.Equal(0, connection.Flushes);
        _sendScheduler.RunAll();

        Assert.Equal(1, connection.Flushes);
        Assert.Equal("firstsecondthird", await ReadAvailableAsync(connection.Pipe.Reader));
    }

    [Fact]
    public async Task Output_Completed_SendsWhatIsLeftThenCompletesTheConnectionOutput()
    {
        var connection = new CountingConnection();
        var transport = CoalescingTransport.Wrap(connection, MemoryPool<byte>.Shared, _sendScheduler);

        await WriteAndFlush(transport.Output, "GOAWAY");
        await transport.Output.CompleteAsync();
        _sendScheduler.RunAll();

        var read = await connection.Pipe.Reader.ReadAsync();
        Assert.Equal("GOAWAY", Encoding.ASCII.GetString(read.Buffer.ToArray()));
        Assert.True(read.IsCompleted, "the connection's output must be completed after the last bytes");
        Assert.True(transport.Sending.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Output_ConnectionStopsTakingBytes_LaterFlushesReportCompleted()
    {
        var connection = new CountingConnection();
        var transport = CoalescingTransport.Wrap(connection, MemoryPool<byte>.Shared, _sendScheduler);
        await connection.Pipe.Reader.CompleteAsync();

        await WriteAndFlush(transport.Output, "lost");
        _sendScheduler.RunAll();
        var after = await WriteAndFlush(transport.Output, "refused");

        Assert.True(after.IsCompleted, "a writer must learn that the connection is gone");
        Assert.True(transport.Sending.IsCompleted);
    }

    [Fact]
    public async Task Output_ConnectionNotDraining_WriterWaitsOnceTheBoundIsReached()
    {
        var connection = new CountingConnection(pauseWriterThreshold: 1024);
        var transport = CoalescingTransport.Wrap(connection, MemoryPool<byte>.Shared, _sendScheduler);
        var chunk = new string('x', 8 * 1024);

        var written = 0;
        ValueTask<FlushResult> flushing;
        do
        {
            flushing = WriteAndFlush(transport.Output, chunk);
            written += chunk.Length;
            _sendScheduler.RunAll();
        }
        while (flushing.IsCompleted && written < 1024 * 1024);

        Assert.False(flushing.IsCompleted, "nobody reads the connection: the writer must be held");
        Assert.InRange(written, 64 * 1024, (64 * 1024) + (3 * chunk.Length));

        // Once the connection drains, the held writer goes on and nothing was lost.
        var received = 0;
        while (!flushing.IsCompleted)
        {
            var read = await connection.Pipe.Reader.ReadAsync();
            received += (int)read.Buffer.Length;
            connection.Pipe.Reader.AdvanceTo(read.Buffer.End);
            _sendScheduler.RunAll();
        }

        await flushing;
        await transport.Output.CompleteAsync();
        _sendScheduler.RunAll();
        while (true)
        {
            var read = await connection.Pipe.Reader.ReadAsync();
            received += (int)read.Buffer.Length;
            connection.Pipe.Reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }

            _sendScheduler.RunAll();
        }

        Assert.Equal(written, received);
    }

    [Fact]
    public async Task FinishAsync_ConnectionTakesTheRest_SaysSentAndCompletesTheConnectionOutput()
    {
        var connection = new CountingConnection();
        var transport = CoalescingTransport.Wrap(connection, MemoryPool<byte>.Shared, PipeScheduler.Inline);
        await WriteAndFlush(transport.Output, "GOAWAY");

        var sent = await transport.FinishAsync(new ManualTimeProvider());

        Assert.True(sent);
        var read = await connection.Pipe.Reader.ReadAsync();
        Assert.Equal("GOAWAY", Encoding.ASCII.GetString(read.Buffer.ToArray()));
        Assert.True(read.IsCompleted);
    }

    [Fact]
    public async Task FinishAsync_ConnectionNotReading_GivesUpAfterTheBound()
    {
        var time = new ManualTimeProvider();
        var connection = new CountingConnection(pauseWriterThreshold: 1024);
        var transport = CoalescingTransport.Wrap(connection, MemoryPool<byte>.Shared, _sendScheduler);
        await WriteAndFlush(transport.Output, new string('x', 8 * 1024));
        _sendScheduler.RunAll();

        var finishing = transport.FinishAsync(time);
        _sendScheduler.RunAll();
        Assert.Equal(1, time.ActiveTimers);
        time.Advance(CoalescingTransport.LastSendTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(finishing.IsCompleted, "the bound has not run out yet");
        time.Advance(TimeSpan.FromMilliseconds(1));

        // Real time bounds only the test: a wait that never gives up fails here instead of hanging.
        Assert.False(await finishing.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    private static ValueTask<FlushResult> WriteAndFlush(PipeWriter writer, string text)
    {
        writer.Write(Encoding.ASCII.GetBytes(text));
        return writer.FlushAsync();
    }

    private static async Task<string> ReadAvailableAsync(PipeReader reader)
    {
        var read = await reader.ReadAsync();
        var text = Encoding.ASCII.GetString(read.Buffer.ToArray());
        reader.AdvanceTo(read.Buffer.End);
        return text;
    }

    /// <summary>A connection's transport whose output counts the flushes it is asked for.</summary>
    private sealed class CountingConnection : IDuplexPipe
    {
        public CountingConnection(long pauseWriterThreshold = 64 * 1024)
        {
            Pipe = new Pipe(new PipeOptions(
                readerScheduler: PipeScheduler.Inline,
                writerScheduler: PipeScheduler.Inline,
                pauseWriterThreshold: pauseWriterThreshold,
                resumeWriterThreshold: pauseWriterThreshold / 2,
                useSynchronizationContext: false));
            Output = new CountingWriter(this);
        }

        public Pipe Pipe { get; }

        public int Flushes { get; private set; }

        public PipeReader Input { get; } = new Pipe().Reader;

        public PipeWriter Output { get; }

        private sealed class CountingWriter(CountingConnection owner) : PipeWriter
        {
            private readonly PipeWriter _inner = owner.Pipe.Writer;

            public override void Advance(int bytes) => _inner.Advance(bytes);

            public override Memory<byte> GetMemory(int sizeHint = 0) => _inner.GetMemory(sizeHint);

            public override Span<byte> GetSpan(int sizeHint = 0) => _inner.GetSpan(sizeHint);

            public override void CancelPendingFlush() => _inner.CancelPendingFlush();

            public override void Complete(Exception? exception = null) => _inner.Complete(exception);

            public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
            {
                owner.Flushes++;
                return _inner.FlushAsync(cancellationToken);
            }
        }
    }

    /// <summary>Runs what is scheduled only when the test says so.</summary>
    private sealed class SteppedScheduler : PipeScheduler
    {
        private readonly Queue<(Action<object?> Action, object? State)> _queue = new();

        public override void Schedule(Action<object?> action, object? state)
        {
            lock (_queue)
            {
                _queue.Enqueue((action, state));
            }
        }

        public void RunAll()
        {
            while (true)
            {
                (Action<object?> Action, object? State) next;
                lock (_queue)
                {
                    if (!_queue.TryDequeue(out next))
                    {
                        return;
                    }
                }

                next.Action(next.State);
            }
        }
    }
}
