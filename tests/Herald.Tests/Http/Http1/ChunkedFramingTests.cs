using System.Buffers;
using System.Text;
using Herald.Proxy.Http.Http1;
using Xunit;

namespace Herald.Tests.Http.Http1;

public sealed class ChunkedFramingTests
{
    private static (int Consumed, ChunkedFraming State) Run(string body, int step = int.MaxValue)
    {
        var bytes = Encoding.ASCII.GetBytes(body);
        var framing = new ChunkedFraming(1024);
        var consumed = 0;
        while (consumed < bytes.Length && !framing.IsComplete && !framing.IsFailed)
        {
            var take = Math.Min(step, bytes.Length - consumed);
            consumed += framing.Consume(bytes.AsSpan(consumed, take));
        }

        return (consumed, framing);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(3)]
    public void Consume_ValidBody_EndsExactlyAtTheMessageEnd(int step)
    {
        const string body = "5\r\nhello\r\nA;ext=1\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n";
        var (consumed, state) = Run(body + "NEXT", step);

        Assert.True(state.IsComplete);
        Assert.Equal(body.Length, consumed);
    }

    [Theory]
    [InlineData("zz\r\nhello\r\n0\r\n\r\n")]
    [InlineData("5\nhello\r\n0\r\n\r\n")]
    [InlineData("5\r\nhello\n0\r\n\r\n")]
    [InlineData("5\r\nhelloXX0\r\n\r\n")]
    [InlineData("1111111111111111\r\n")]
    [InlineData("\r\n")]
    [InlineData("0\r\n\n")]
    [InlineData("0\r\n bad\r\n\r\n")]
    public void Consume_MalformedFraming_Fails(string body)
    {
        Assert.True(Run(body).State.IsFailed);
    }

    [Fact]
    public void Consume_TrailersOverLimit_Fails()
    {
        Assert.True(Run("0\r\nX: " + new string('a', 2000) + "\r\n\r\n").State.IsFailed);
    }

    [Fact]
    public void Decode_RemovesFraming()
    {
        var decoder = new ChunkedDecoder(1024);
        var input = new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
        var output = new byte[16];

        var (consumed, produced) = decoder.Decode(input, output);

        Assert.True(decoder.IsComplete);
        Assert.Equal(input.Length, consumed);
        Assert.Equal("abcde", Encoding.ASCII.GetString(output, 0, produced));
    }
}
