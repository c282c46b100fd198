using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Herald.Xds.Grpc;
using Xunit;

namespace Herald.Tests.Xds.Grpc;

public sealed class GrpcFramingTests
{
    private static readonly string[] Values = ["first", string.Empty, new string('x', 300)];

    [Fact]
    public async Task ReadMessageAsync_EverySplitPoint_YieldsTheSameMessages()
    {
        var wire = Frame(Values);
        for (var split = 0; split <= wire.Length; split++)
        {
            var pipe = new Pipe();
            await pipe.Writer.WriteAsync(wire.AsMemory(0, split));
            var reading = ReadAllAsync(pipe.Reader, 1024);
            await pipe.Writer.WriteAsync(wire.AsMemory(split));
            await pipe.Writer.CompleteAsync();
            Assert.Equal(Values, await reading);
        }
    }

    [Fact]
    public async Task ReadMessageAsync_OneByteAtATime_YieldsTheSameMessages()
    {
        var wire = Frame(Values);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        var reading = ReadAllAsync(pipe.Reader, 1024);
        for (var i = 0; i < wire.Length; i++)
        {
            await pipe.Writer.WriteAsync(wire.AsMemory(i, 1));
        }

        await pipe.Writer.CompleteAsync();
        Assert.Equal(Values, await reading);
    }

    [Fact]
    public void TryReadFrame_AcrossSegments_SlicesWithoutCopying()
    {
        var wire = Frame(["across segments"]);
        var sequence = Segments(wire, 3);
        Assert.True(GrpcFraming.TryReadFrame(ref sequence, 1024, out var payload));
        Assert.Equal("across segments", StringValue.Parser.ParseFrom(payload).Value);
        Assert.True(sequence.IsEmpty);
    }

    [Fact]
    public async Task ReadMessageAsync_OversizeHeader_ResourceExhaustedBeforeTheBodyArrives()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 0x10, 0x01 }); // 4097 bytes announced, none sent
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 4096, CancellationToken.None).AsTask());
        Assert.Equal(GrpcStatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task ReadMessageAsync_MessageAtTheLimit_IsAccepted()
    {
        var message = new BytesValue { Value = ByteString.CopyFrom(new byte[4093]) };
        Assert.Equal(4096, message.CalculateSize());
        var pipe = new Pipe();
        GrpcFraming.WriteMessage(pipe.Writer, message);
        await pipe.Writer.CompleteAsync();
        var read = await GrpcFraming.ReadMessageAsync(pipe.Reader, BytesValue.Parser, 4096, CancellationToken.None);
        Assert.Equal(4093, read!.Value.Length);
    }

    [Theory]
    [InlineData(1, GrpcStatusCode.Internal)]
    [InlineData(2, GrpcStatusCode.Internal)]
    public async Task ReadMessageAsync_NonZeroFlag_Fails(byte flag, GrpcStatusCode expected)
    {
        var wire = Frame(["compressed?"]);
        wire[0] = flag;
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(wire);
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1024, CancellationToken.None).AsTask());
        Assert.Equal(expected, e.StatusCode);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(7)]
    public async Task ReadMessageAsync_StreamEndsInsideAFrame_Internal(int length)
    {
        var wire = Frame(["truncated"]);
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(wire.AsMemory(0, length));
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1024, CancellationToken.None).AsTask());
        Assert.Equal(GrpcStatusCode.Internal, e.StatusCode);
    }

    [Fact]
    public async Task ReadMessageAsync_GarbagePayload_Internal()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(new byte[] { 0, 0, 0, 0, 2, 0x0A, 0x05 }); // field 1, length 5, no bytes
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<GrpcException>(() =>
            GrpcFraming.ReadMessageAsync(pipe.Reader, StringValue.Parser, 1024, CancellationToken.None).AsTask());
        Assert.Equal(GrpcStatusCode.Internal, e.StatusCode);
    }

    [Fact]
    public async Task WriteMessageAsync_Stream_WritesHeaderAndMessage()
    {
        using var stream = new MemoryStream();
        await GrpcFraming.WriteMessageAsync(stream, new StringValue { Value = "hi" }, CancellationToken.None);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 4, 0x0A, 2, (byte)'h', (byte)'i' }, stream.ToArray());
    }

    private static byte[] Frame(string[] values)
    {
        var writer = new ArrayBufferWriter<byte>();
        foreach (var value in values)
        {
            GrpcFraming.WriteMessage(writer, new StringValue { Value = value });
        }

        return writer.WrittenSpan.ToArray();
    }

    private static async Task<List<string>> ReadAllAsync(PipeReader reader, int max)
    {
        var values = new List<string>();
        while (await GrpcFraming.ReadMessageAsync(reader, StringValue.Parser, max, CancellationToken.None) is { } message)
        {
            values.Add(message.Value);
        }

        return values;
    }

    private static ReadOnlySequence<byte> Segments(byte[] data, int size)
    {
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < data.Length; i += size)
        {
            var chunk = data.AsMemory(i, Math.Min(size, data.Length - i));
            last = last is null ? first = new Segment(chunk, 0) : last.Append(chunk);
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
