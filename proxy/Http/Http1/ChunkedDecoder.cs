using System.Buffers;

namespace Herald.Proxy.Http.Http1;

/// <summary>Removes chunked framing, for the paths that hand a body to SocketsHttpHandler.</summary>
internal struct ChunkedDecoder
{
    private ChunkedFraming _framing;

    public ChunkedDecoder(int maxTrailerBytes)
    {
        _framing = new ChunkedFraming(maxTrailerBytes);
    }

    public readonly bool IsComplete => _framing.IsComplete;

    public readonly bool IsFailed => _framing.IsFailed;

    /// <summary>Decodes from <paramref name="input"/> into <paramref name="output"/>; returns bytes consumed and produced.</summary>
    public (long Consumed, int Produced) Decode(in ReadOnlySequence<byte> input, Span<byte> output)
    {
        long consumed = 0;
        var produced = 0;
        foreach (var memory in input)
        {
            var span = memory.Span;
            var i = 0;
            while (i < span.Length && !_framing.IsComplete && !_framing.IsFailed)
            {
                if (_framing.InData)
                {
                    var take = (int)Math.Min(Math.Min(_framing.DataRemaining, span.Length - i), output.Length - produced);
                    if (take == 0)
                    {
                        return (consumed + i, produced);
                    }

                    span.Slice(i, take).CopyTo(output[produced..]);
                    _framing.Consume(span.Slice(i, take));
                    produced += take;
                    i += take;
                }
                else
                {
                    i += _framing.Consume(span.Slice(i, 1));
                }
            }

            consumed += i;
            if (_framing.IsComplete || _framing.IsFailed || produced == output.Length)
            {
                break;
            }
        }

        return (consumed, produced);
    }
}
