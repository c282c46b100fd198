using System.Text;
using Herald.Proxy.Observability.AccessLog;
using Herald.Proxy.Observability.Stats;
using Xunit;

namespace Herald.Tests.Observability.AccessLog;

public sealed class FileAccessLogSinkTests
{
    [Fact]
    public async Task Log_ThenFlush_WritesEveryLineInOrder()
    {
        var stats = new StatsStore();
        using var stream = new MemoryStream();
        var sink = new FileAccessLogSink(stream, ownsStream: false, AccessLogFormat.Parse("%RESPONSE_CODE%\n", "f"), stats.Counter(StatKey.Global("access_log.dropped")));

        for (var i = 0; i < 100; i++)
        {
            sink.Log(new AccessLogEntry { ResponseCode = 200 + i });
        }

        await sink.FlushAsync();
        var text = Encoding.UTF8.GetString(stream.ToArray());
        await sink.DisposeAsync();

        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(100, lines.Length);
        Assert.Equal("200", lines[0]);
        Assert.Equal("299", lines[99]);
        Assert.Equal(0, stats.Counter(StatKey.Global("access_log.dropped")).Value);
    }

    [Fact]
    public async Task Log_QueueFullWhileWriterIsStuck_DropsWithoutBlockingAndCounts()
    {
        var stats = new StatsStore();
        var dropped = stats.Counter(StatKey.Global("access_log.dropped"));
        var stream = new GatedStream();
        var sink = new FileAccessLogSink(stream, ownsStream: false, AccessLogFormat.Parse("x\n", "f"), dropped, capacity: 4);

        // The first entry is taken by the writer, which then blocks in Write.
        sink.Log(new AccessLogEntry());
        await stream.WriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        for (var i = 0; i < 10; i++)
        {
            sink.Log(new AccessLogEntry());
        }

        Assert.Equal(6, dropped.Value);
        stream.Release.TrySetResult();
        await sink.FlushAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await sink.DisposeAsync();
        Assert.Equal("x\nx\nx\nx\nx\n", Encoding.UTF8.GetString(stream.Written.ToArray()));
    }

    [Fact]
    public async Task Open_FilePath_AppendsToTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"herald-access-{Guid.NewGuid():N}.log");
        File.WriteAllText(path, "existing\n");
        try
        {
            var sink = FileAccessLogSink.Open(path, AccessLogFormat.Parse("%REQ(:METHOD)%\n", "f"), new StatsStore().Counter(StatKey.Global("access_log.dropped")));
            sink.Log(new AccessLogEntry { Method = "PUT" });
            await sink.FlushAsync();
            await sink.DisposeAsync();

            Assert.Equal("existing\nPUT\n", File.ReadAllText(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A stream whose first write blocks until released, to hold the writer task.</summary>
    private sealed class GatedStream : Stream
    {
        public TaskCompletionSource WriteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public MemoryStream Written { get; } = new();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written.Length;

        public override long Position { get => Written.Position; set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WriteStarted.TrySetResult();
            await Release.Task;
            Written.Write(buffer.Span);
        }

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
