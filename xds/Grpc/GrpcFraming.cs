using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Google.Protobuf;

namespace Herald.Xds.Grpc;

/// <summary>
/// gRPC's length-prefixed messages: one flag byte (0 = not compressed) and a 4-byte big-endian
/// length, then the message. Herald never negotiates compression, so flag 1 is an error.
/// </summary>
internal static class GrpcFraming
{
    public const int HeaderLength = 5;

    /// <summary>gRPC's usual default receive limit.</summary>
    public const int DefaultMaxReceiveMessageSize = 4 * 1024 * 1024;

    /// <summary>
    /// Takes one whole message off the front of <paramref name="buffer"/>. Returns false (and
    /// leaves the buffer alone) when more bytes are needed; throws on a bad or oversize frame
    /// as soon as its header is complete, before its body is buffered.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxMessageSize, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < HeaderLength)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderLength];
        buffer.Slice(0, HeaderLength).CopyTo(header);
        switch (header[0])
        {
            case 0:
                break;
            case 1:
                throw new GrpcException(GrpcStatusCode.Internal, "received a compressed message, but no message encoding was negotiated");
            default:
                throw new GrpcException(GrpcStatusCode.Internal, $"invalid message flag {header[0]}");
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (length > (uint)maxMessageSize)
        {
            throw new GrpcException(
                GrpcStatusCode.ResourceExhausted,
                $"received message of {length} bytes exceeds the limit of {maxMessageSize} bytes");
        }

        if (buffer.Length - HeaderLength < length)
        {
            return false;
        }

        payload = buffer.Slice(HeaderLength, length);
        buffer = buffer.Slice(payload.End);
        return true;
    }

    /// <summary>Reads the next message; null at a clean end of the stream.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public static async ValueTask<T?> ReadMessageAsync<T>(PipeReader reader, MessageParser<T> parser, int maxMessageSize, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (result.IsCanceled)
            {
                reader.AdvanceTo(buffer.Start);
                throw new OperationCanceledException("the read was cancelled because the call ended");
            }

            bool complete;
            ReadOnlySequence<byte> payload;
            try
            {
                complete = TryReadFrame(ref buffer, maxMessageSize, out payload);
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start);
                throw;
            }

            if (complete)
            {
                try
                {
                    return parser.ParseFrom(payload);
                }
                catch (InvalidProtocolBufferException)
                {
                    throw new GrpcException(GrpcStatusCode.Internal, $"could not parse a {typeof(T).Name} message");
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start);
                }
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(buffer.End);
                if (buffer.Length == 0)
                {
                    return null;
                }

                throw new GrpcException(GrpcStatusCode.Internal, "the stream ended inside a message");
            }

            // Nothing consumed, everything examined: the next read waits for more bytes.
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Writes one framed message; the caller flushes.</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message)
    {
        var size = message.CalculateSize();
        var header = writer.GetSpan(HeaderLength);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        writer.Advance(HeaderLength);
        message.WriteTo(writer);
    }

    /// <summary>Writes one framed message to a stream through one pooled buffer; the caller flushes.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public static async ValueTask WriteMessageAsync(Stream stream, IMessage message, CancellationToken cancellationToken)
    {
        var size = message.CalculateSize();
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderLength + size);
        try
        {
            buffer[0] = 0;
            BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1), (uint)size);
            message.WriteTo(buffer.AsSpan(HeaderLength, size));
            await stream.WriteAsync(buffer.AsMemory(0, HeaderLength + size), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
