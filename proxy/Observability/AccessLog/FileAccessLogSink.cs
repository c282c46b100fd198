using System.Buffers;
using System.Threading.Channels;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Observability.AccessLog;

/// <summary>
/// Writes access log lines to a file or to stdout/stderr from one background task. Callers
/// only enqueue; a full queue drops the entry and counts it in <c>access_log.dropped</c>.
/// Lines are batched and written whole, and the stream is flushed whenever the queue runs dry.
/// </summary>
internal sealed class FileAccessLogSink : IAccessLogSink, IAsyncDisposable
{
    public const int DefaultCapacity = 4096;

    // Write out a batch at this size even while entries keep coming, so memory stays bounded.
    private const int BatchBytes = 64 * 1024;

    private readonly Channel<AccessLogEntry> _queue;
    private readonly Stream _stream;
    private readonly bool _ownsStream;
    private readonly AccessLogFormat _format;
    private readonly Counter _dropped;
    private readonly Task _writer;
    private TaskCompletionSource _flushed = NewSignal();
    private long _accepted;
    private long _written;
    private bool _reportedError;

    public FileAccessLogSink(Stream stream, bool ownsStream, AccessLogFormat format, Counter dropped, int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _stream = stream;
        _ownsStream = ownsStream;
        _format = format;
        _dropped = dropped;
        _queue = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
            AllowSynchronousContinuations = false,
        });
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>Opens <paramref name="path"/> for appending; <c>/dev/stdout</c> and <c>/dev/stderr</c> use the process's streams.</summary>
    public static FileAccessLogSink Open(string path, AccessLogFormat format, Counter dropped, int capacity = DefaultCapacity)
    {
        return path switch
        {
            "/dev/stdout" => new FileAccessLogSink(Console.OpenStandardOutput(), ownsStream: false, format, dropped, capacity),
            "/dev/stderr" => new FileAccessLogSink(Console.OpenStandardError(), ownsStream: false, format, dropped, capacity),
            _ => new FileAccessLogSink(
                new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0),
                ownsStream: true,
                format,
                dropped,
                capacity),
        };
    }

    public void Log(AccessLogEntry entry)
    {
        if (_queue.Writer.TryWrite(entry))
        {
            Interlocked.Increment(ref _accepted);
        }
        else
        {
            _dropped.Increment();
        }
    }

    /// <summary>Completes when every entry accepted before the call is written and flushed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var target = Volatile.Read(ref _accepted);
        while (true)
        {
            // Read the signal before the count: a flush after the check completes this signal.
            var signal = Volatile.Read(ref _flushed);
            if (Volatile.Read(ref _written) >= target || _writer.IsCompleted)
            {
                return;
            }

            await signal.Task.WaitAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
        if (_ownsStream)
        {
            await _stream.DisposeAsync();
        }
    }

    private async Task WriteLoopAsync()
    {
        var buffer = new ArrayBufferWriter<byte>(BatchBytes + 4096);
        var reader = _queue.Reader;
        long processed = 0;
        while (await reader.WaitToReadAsync())
        {
            var batch = 0;
            while (reader.TryRead(out var entry))
            {
                _format.Write(entry, buffer);
                batch++;
                if (buffer.WrittenCount >= BatchBytes)
                {
                    await WriteAsync(buffer, batch, flush: false);
                    processed += batch;
                    batch = 0;
                }
            }

            await WriteAsync(buffer, batch, flush: true);
            processed += batch;
            Volatile.Write(ref _written, processed);
            Interlocked.Exchange(ref _flushed, NewSignal()).TrySetResult();
        }

        Interlocked.Exchange(ref _flushed, NewSignal()).TrySetResult();
    }

    private async Task WriteAsync(ArrayBufferWriter<byte> buffer, int entries, bool flush)
    {
        try
        {
            if (buffer.WrittenCount > 0)
            {
                await _stream.WriteAsync(buffer.WrittenMemory);
            }

            if (flush)
            {
                await _stream.FlushAsync();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            // A failing disk must not stop the proxy: the lines are lost and counted.
            _dropped.Add(entries);
            if (!_reportedError)
            {
                _reportedError = true;
                await Console.Error.WriteLineAsync($"herald: access log write failed: {e.Message}");
            }
        }
        finally
        {
            buffer.Clear();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
