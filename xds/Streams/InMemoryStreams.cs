using System.Threading.Channels;

namespace Herald.Xds.Streams;

/// <summary>Two connected in-memory stream ends with bounded buffers.</summary>
public static class InMemoryStreams
{
    public static (IMessageStream<TB, TA> EndA, IMessageStream<TA, TB> EndB) CreatePair<TA, TB>(int capacity = 64)
        where TA : class
        where TB : class
    {
        var aToB = Channel.CreateBounded<TA>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false });
        var bToA = Channel.CreateBounded<TB>(new BoundedChannelOptions(capacity) { SingleReader = true, SingleWriter = false });
        return (new End<TB, TA>(bToA.Reader, aToB.Writer), new End<TA, TB>(aToB.Reader, bToA.Writer));
    }

    private sealed class End<TIn, TOut>(ChannelReader<TIn> reader, ChannelWriter<TOut> writer) : IMessageStream<TIn, TOut>
        where TIn : class
        where TOut : class
    {
        public async ValueTask<TIn?> ReadAsync(CancellationToken cancellationToken)
        {
            while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (reader.TryRead(out var item))
                {
                    return item;
                }
            }

            return null;
        }

        public ValueTask WriteAsync(TOut message, CancellationToken cancellationToken) => writer.WriteAsync(message, cancellationToken);

        public ValueTask CompleteAsync()
        {
            writer.TryComplete();
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            writer.TryComplete();
            return ValueTask.CompletedTask;
        }
    }
}
