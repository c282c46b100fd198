using Herald.Xds.Grpc;
using Xunit;

namespace Herald.Tests.Xds.Grpc;

public sealed class GrpcMessageEncodingTests
{
    [Theory]
    [InlineData("plain text ~!", "plain text ~!")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ü", "%C3%BC")]
    [InlineData("\u20AC", "%E2%82%AC")]
    [InlineData("", "")]
    public void Encode_PercentEncodesOutsidePrintableAscii(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcMessageEncoding.Encode(message));
        Assert.Equal(message, GrpcMessageEncoding.Decode(encoded));
    }

    [Fact]
    public void Encode_PlainText_ReturnsTheSameString()
    {
        var text = "no escapes here";
        Assert.Same(text, GrpcMessageEncoding.Encode(text));
    }

    [Theory]
    [InlineData("%", "%")]
    [InlineData("50%", "50%")]
    [InlineData("%zz", "%zz")]
    [InlineData("%4", "%4")]
    [InlineData("a%41b", "aAb")]
    [InlineData("%c3%bc", "ü")]
    public void Decode_MalformedEscapes_KeptAsIs(string value, string expected) =>
        Assert.Equal(expected, GrpcMessageEncoding.Decode(value));
}
