using System.IO.Pipelines;

namespace Herald.Benchmarks;

/// <summary>The pipe the relay benchmarks write a head into, standing in for an idle socket.</summary>
internal static class BenchPipe
{
    /// <summary>Never pauses the writer, so a flush completes synchronously, as on an idle socket.</summary>
    public static Pipe Create() => new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));

    /// <summary>Flushes what was written, then drains it as the socket would, so the pipe stays one segment; returns the bytes.</summary>
    public static long FlushAndDrain(Pipe pipe)
    {
        var flush = pipe.Writer.FlushAsync();
        if (!flush.IsCompleted)
        {
            throw new InvalidOperationException("the flush did not complete synchronously");
        }

        _ = flush.Result;
        var reader = pipe.Reader;
        reader.TryRead(out var read);
        var length = read.Buffer.Length;
        reader.AdvanceTo(read.Buffer.End);
        return length;
    }
}
